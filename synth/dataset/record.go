package dataset

// Format names the manifest format written in Info.Format.
const Format = "lsms-synth-liver/v1"

// HUOffset is the value added to Hounsfield units before they are stored
// as uint16 in the slice PNGs (the DeepLesion convention): HU = v - 32768.
const HUOffset = 32768

// Lesion types.
const (
	TypeCyst       = "cyst"
	TypeHemangioma = "hemangioma"
	TypeHCC        = "hcc"
	TypeMetastasis = "metastasis"
	TypeFNH        = "fnh"
)

// Types lists the lesion types in a fixed order.
var Types = []string{TypeCyst, TypeHemangioma, TypeHCC, TypeMetastasis, TypeFNH}

// Couinaud segments, in anatomical order, and liver lobes.
var Segments = []string{"I", "II", "III", "IVa", "IVb", "V", "VI", "VII", "VIII"}

// Lobes.
const (
	LobeCaudate = "caudate"
	LobeLeft    = "left"
	LobeRight   = "right"
)

// LobeOf returns the lobe of a Couinaud segment: caudate for I, left for
// II–IV, right for V–VIII, "" for anything else.
func LobeOf(segment string) string {
	switch segment {
	case "I":
		return LobeCaudate
	case "II", "III", "IVa", "IVb":
		return LobeLeft
	case "V", "VI", "VII", "VIII":
		return LobeRight
	}
	return ""
}

// Attribute keys an Expression may use.
const (
	KeyType     = "type"
	KeySegment  = "segment"
	KeyLobe     = "lobe"
	KeyDiameter = "diameter"
	KeyShape    = "shape"
	KeyBoundary = "boundary"
	KeyDensity  = "density"
	KeyRing     = "ring"
	KeyFeature  = "feature"
)

// Expression levels.
const (
	LevelFull       = "full"
	LevelHalf       = "half"
	LevelQuarter    = "quarter"
	LevelRelational = "relational"
)

// Levels lists the expression levels in a fixed order.
var Levels = []string{LevelFull, LevelHalf, LevelQuarter, LevelRelational}

// Relation kinds and orders.
const (
	RelSize     = "size"     // Order: larger, smaller
	RelPosition = "position" // Order: anterior, posterior, right, left (patient's)
	RelLandmark = "landmark" // Order: nearest; Landmark names the landmark

	LandmarkGallbladderFossa = "gallbladder_fossa"
	LandmarkIVC              = "ivc"
)

// Matching rules shared by the generator's uniqueness check and any
// independent checker: a stated diameter D matches a lesion whose diameter
// is within max(DiameterTolMM, DiameterTolFrac·D) of D; a size relation
// needs the extreme lesion to differ from the next by SizeRatio; position
// and landmark relations need a margin of PositionMarginMM (and, for
// landmarks, a distance ratio of LandmarkRatio).
const (
	DiameterTolMM    = 2.0
	DiameterTolFrac  = 0.2
	SizeRatio        = 1.25
	PositionMarginMM = 10.0
	LandmarkRatio    = 0.8
)

// Geometry is the DICOM geometry of one slice. Patient coordinates are
// DICOM LPS millimetres: x grows to the patient's left, y to posterior, z
// to superior; rows run along +y and columns along +x.
type Geometry struct {
	ImagePositionPatient    [3]float64 `json:"image_position_patient"`
	ImageOrientationPatient [6]float64 `json:"image_orientation_patient"`
	SliceThicknessMM        float64    `json:"slice_thickness_mm"`
	SpacingBetweenSlicesMM  float64    `json:"spacing_between_slices_mm"`
	SliceLocationMM         float64    `json:"slice_location_mm"`
}

// Landmarks are anatomical reference points of a slice in patient mm.
type Landmarks struct {
	GallbladderFossa [3]float64 `json:"gallbladder_fossa"`
	IVC              [3]float64 `json:"ivc"`
}

// Lesion holds the attributes of one lesion as seen on one slice.
type Lesion struct {
	ID              int        `json:"id"` // unique within the case (one 3D lesion)
	Type            string     `json:"type"`
	Segment         string     `json:"segment"` // Couinaud segment holding most of its pixels
	Lobe            string     `json:"lobe"`
	DiameterMM      float64    `json:"diameter_mm"`   // long axis on this slice
	ShortAxisMM     float64    `json:"short_axis_mm"` // widest extent across the long axis
	AreaPx          int        `json:"area_px"`
	AreaMM2         float64    `json:"area_mm2"`
	Diameter3DMM    float64    `json:"diameter_3d_mm"` // nominal 3D size
	CentroidPx      [2]float64 `json:"centroid_px"`    // column, row
	CentroidPatient [3]float64 `json:"centroid_patient_mm"`
	BBox            [4]int     `json:"bbox_px"`  // min column, min row, max column, max row (inclusive)
	Shape           string     `json:"shape"`    // round, oval, lobulated, irregular
	Boundary        string     `json:"boundary"` // clear, blurred
	Density         string     `json:"density"`  // low, mixed, iso, slightly high
	RingEnhancement bool       `json:"ring_enhancement"`
	Feature         string     `json:"feature,omitempty"` // peripheral nodular enhancement, capsule, central scar, target sign
}

// Relation is the structured form of a relational expression.
type Relation struct {
	Kind     string `json:"kind"`               // size, position, landmark
	Order    string `json:"order"`              // larger, smaller, anterior, posterior, right, left, nearest
	Landmark string `json:"landmark,omitempty"` // for landmark relations
	Among    string `json:"among,omitempty"`    // lesion type compared, "" for all lesions
	Count    int    `json:"count,omitempty"`    // number of lesions compared, as stated; 0 if unstated
}

// Expression is one referring expression and the structured query it
// renders: the attribute keys it states (values are the target's) and,
// for relational expressions, the relation.
type Expression struct {
	Level      string    `json:"level"`
	Text       string    `json:"text"`
	Attributes []string  `json:"attributes,omitempty"`
	Relation   *Relation `json:"relation,omitempty"`
}

// Record is one manifest line: one target lesion on one slice.
type Record struct {
	Case         string       `json:"case"`
	CaseIndex    int          `json:"case_index"`
	Split        string       `json:"split"`
	SliceIndex   int          `json:"slice_index"`
	SliceCount   int          `json:"slice_count"`
	Image        string       `json:"image"`
	Mask         string       `json:"mask"`
	Rows         int          `json:"rows"`
	Columns      int          `json:"columns"`
	PixelSpacing [2]float64   `json:"pixel_spacing_mm"` // row spacing, column spacing (DICOM order)
	HUOffset     int          `json:"hu_offset"`        // stored uint16 = HU + HUOffset
	Geometry     Geometry     `json:"geometry"`
	Landmarks    Landmarks    `json:"landmarks"`
	TargetID     int          `json:"target_id"`
	Target       Lesion       `json:"target"`
	Lesions      []Lesion     `json:"lesions"` // every lesion visible on the slice, target included
	Expressions  []Expression `json:"expressions"`
}

// SplitCount is the size of one split.
type SplitCount struct {
	Cases   int `json:"cases"`
	Slices  int `json:"slices"`
	Records int `json:"records"`
}

// Info is dataset.json: how the set was made and what it holds.
type Info struct {
	Format      string                `json:"format"`
	Generator   string                `json:"generator"`
	Seed        uint64                `json:"seed"`
	PixelFormat string                `json:"pixel_format"`
	HUOffset    int                   `json:"hu_offset"`
	MaskFormat  string                `json:"mask_format"`
	Cases       int                   `json:"cases"`
	Slices      int                   `json:"slices"`
	Records     int                   `json:"records"`
	Lesions     int                   `json:"lesions"` // 3D lesions over all cases
	Expressions map[string]int        `json:"expressions"`
	Dropped     map[string]int        `json:"dropped"` // expressions dropped as not unique, per level
	Splits      map[string]SplitCount `json:"splits"`
	SplitCases  map[string][]string   `json:"split_cases"`
}
