package main

// Backends linked into the binary.
import _ "github.com/lsms-edge/lsms/runtime/interp"
