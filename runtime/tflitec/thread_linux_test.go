package tflitec

import "syscall"

func threadID() int { return syscall.Gettid() }
