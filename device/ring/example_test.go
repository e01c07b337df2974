package ring_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lsms-edge/lsms/device/ring"
)

func Example() {
	ctx := context.Background()
	r, err := ring.New(2, 1024, ring.DropOldest)
	if err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		meta := ring.Meta{Source: "scanner", SOPInstanceUID: fmt.Sprint("1.2.3.", i)}
		if err := r.Put(ctx, meta, []byte("slice bytes")); err != nil {
			log.Fatal(err)
		}
	}
	r.Close()
	for {
		s, err := r.Next(ctx)
		if errors.Is(err, ring.ErrClosed) {
			break
		}
		fmt.Println(s.Meta.Seq, s.Meta.SOPInstanceUID, len(s.Data))
		r.Release(s)
	}
	st := r.Stats()
	fmt.Printf("received %d = processed %d + dropped %d\n", st.Received, st.Processed, st.Dropped)
	// Output:
	// 2 1.2.3.2 11
	// 3 1.2.3.3 11
	// received 3 = processed 2 + dropped 1
}
