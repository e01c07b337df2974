package dimse_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/lsms-edge/lsms/device/dimse"
)

func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	received := make(chan string, 1)
	srv := &dimse.Server{
		AETitle: "LSMS",
		Allow:   []string{"CONSOLE"},
		Handler: func(ctx context.Context, r *dimse.StoreRequest) dimse.Status {
			// r.Data is only valid during the call: copy it to keep it.
			received <- fmt.Sprintf("%s from %s: %d bytes in %s", r.SOPInstanceUID, r.CallingAE, len(r.Data), r.TransferSyntaxUID)
			return dimse.StatusSuccess
		},
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- srv.Serve(ctx, ln) }()

	c, err := dimse.Dial(ctx, ln.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("echo:", c.Echo(ctx))
	err = c.Store(ctx, dimse.CTImageStorage, "1.2.826.0.1.3680043.2.1", dimse.ExplicitVRLittleEndian, []byte{0x08, 0x00, 0x16, 0x00})
	fmt.Println("store:", err)
	fmt.Println(<-received)
	fmt.Println("release:", c.Release(ctx))

	_, err = dimse.Dial(ctx, ln.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "ELSEWHERE"})
	fmt.Println(err)

	stop()
	fmt.Println("serve:", <-served)
	// Output:
	// echo: <nil>
	// store: <nil>
	// 1.2.826.0.1.3680043.2.1 from CONSOLE: 4 bytes in 1.2.840.10008.1.2.1
	// release: <nil>
	// dimse: association rejected: permanent, called AE title not recognized
	// serve: <nil>
}
