package model

import "testing"

// PyTorch: F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4),
// mode="bilinear", align_corners=False).
func TestResizeBilinearTorch(t *testing.T) {
	want := []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	got := make([]float32, 16)
	ResizeBilinear([]float32{0, 1, 2, 3}, 2, 2, got, 4, 4)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Down-sampling 4→2 without antialiasing samples at 0.5 and 2.5.
	down := make([]float32, 2)
	ResizeBilinear([]float32{0, 10, 20, 30}, 1, 4, down, 1, 2)
	if down[0] != 5 || down[1] != 25 {
		t.Fatalf("4→2: %v, want [5 25]", down)
	}
	// Identity.
	src := []float32{1, 2, 3, 4, 5, 6}
	id := make([]float32, 6)
	ResizeBilinear(src, 2, 3, id, 2, 3)
	for i := range src {
		if id[i] != src[i] {
			t.Fatalf("identity: %v", id)
		}
	}
}
