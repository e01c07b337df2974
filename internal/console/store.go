package console

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/lsms-edge/lsms/device/measure"
)

// Slice is one loaded slice, as the API describes it.
type Slice struct {
	ID   string `json:"id"`
	Name string `json:"name"` // the uploaded file's name
	// Kind is "dicom" or "png".
	Kind       string `json:"kind"`
	Rows       int    `json:"rows"`
	Cols       int    `json:"cols"`
	Series     string `json:"series"` // the series key the page groups by
	SeriesName string `json:"series_name"`
	// Instance is the DICOM Instance Number (0: none).
	Instance int `json:"instance,omitempty"`
	// Position is the distance along the slice normal, mm (DICOM).
	Position float64 `json:"position_mm"`
	// PixelSpacing is (row, column) mm; SpacingAssumed says it is the 1 mm
	// default of a PNG or a DICOM file without usable geometry.
	PixelSpacing   [2]float64 `json:"pixel_spacing_mm"`
	SpacingAssumed bool       `json:"spacing_assumed,omitempty"`
	// Geometry says the plane comes from the file (lesion centroids in
	// patient coordinates and series volumes are meaningful).
	Geometry bool    `json:"geometry"`
	HUMin    int16   `json:"hu_min"`
	HUMax    int16   `json:"hu_max"`
	DecodeMS float64 `json:"decode_ms"`

	hu    []int16
	plane measure.Plane
}

// store keeps slices in memory up to a byte budget, dropping the oldest.
type store struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	byID  map[string]*list.Element
	order *list.List // oldest first
}

func newStore(max int64) *store {
	return &store{max: max, byID: map[string]*list.Element{}, order: list.New()}
}

func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *store) add(sl *Slice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[sl.ID] = s.order.PushBack(sl)
	s.bytes += int64(2 * len(sl.hu))
	for s.bytes > s.max && s.order.Len() > 1 {
		old := s.order.Front()
		o := old.Value.(*Slice)
		s.order.Remove(old)
		delete(s.byID, o.ID)
		s.bytes -= int64(2 * len(o.hu))
	}
}

func (s *store) get(id string) *Slice {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byID[id]; ok {
		return e.Value.(*Slice)
	}
	return nil
}

func (s *store) all() []*Slice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Slice, 0, s.order.Len())
	for e := s.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*Slice))
	}
	return out
}
