// Package gpio connects the board to the scanner's hardware lines through
// periph.io: a Trigger turns edges on an input pin ("start a series",
// "acquire") into events, with debouncing on an injected clock, and Status
// drives the busy and ready output lines.
//
// Pins are passed in as periph gpio.PinIO (or PinIn/PinOut) values, so
// tests use gpiotest.Pin and real boards use whatever periph's host
// drivers register; Resolve looks them up by the names in the board
// profile (the program calls host.Init() from periph.io/x/host/v3 first).
package gpio
