//go:build !linux

package tflitec

func threadID() int { return 0 }
