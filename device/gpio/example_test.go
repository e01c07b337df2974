package gpio_test

import (
	"context"
	"fmt"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/lsms-edge/lsms/device/gpio"
)

func Example() {
	// On a board: pins, err := gpio.Resolve("GPIO17", "GPIO22", "GPIO23")
	// after host.Init(). Here, fake pins.
	edges := make(chan pgpio.Level)
	trigger := &gpiotest.Pin{N: "GPIO17", EdgesChan: edges}
	busy, ready := &gpiotest.Pin{N: "GPIO22"}, &gpiotest.Pin{N: "GPIO23"}

	status := &gpio.Status{Busy: busy, Ready: ready}
	status.Init()
	status.SetReady(true)

	ctx, cancel := context.WithCancel(context.Background())
	t := &gpio.Trigger{
		Name: "series",
		Pin:  trigger,
		Pull: pgpio.PullDown,
		OnEvent: func(ctx context.Context, e gpio.Event) {
			fmt.Printf("%s #%d: start a series\n", e.Trigger, e.Seq)
			status.SetBusy(true)
			cancel() // one event is enough for the example
		},
	}
	// The scanner raises the line (gpiotest's In discards edges sent
	// before it, so keep raising until the trigger has seen one).
	go func() {
		for {
			select {
			case edges <- pgpio.High:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := t.Run(ctx)
	fmt.Println("run:", err, "busy:", busy.Read(), "ready:", ready.Read())
	// Output:
	// series #1: start a series
	// run: <nil> busy: High ready: High
}
