package npy_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/lsms-edge/lsms/internal/npy"
)

func Example() {
	a, err := npy.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := npy.Write(&buf, a); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes, data at offset %d\n", buf.Len(), buf.Len()-24)

	b, err := npy.Read(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.DType, b.Shape, b.Data)

	_, err = npy.Read(bytes.NewReader([]byte("not numpy")))
	fmt.Println(err)
	// Output:
	// 152 bytes, data at offset 128
	// float32 [2 3] [1 2 3 4 5 6]
	// npy: bad magic "not nu": not a .npy file
}
