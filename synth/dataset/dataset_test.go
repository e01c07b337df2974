package dataset

import (
	"archive/zip"
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func sampleRecord() Record {
	l1 := Lesion{ID: 1, Type: TypeCyst, Segment: "VI", Lobe: LobeRight, DiameterMM: 12.5, ShortAxisMM: 11,
		AreaPx: 210, AreaMM2: 103.2, Diameter3DMM: 13, CentroidPx: [2]float64{120.5, 300.25},
		CentroidPatient: [3]float64{-90.1, 20.2, -150}, BBox: [4]int{112, 292, 129, 309},
		Shape: "round", Boundary: "clear", Density: "low"}
	l2 := l1
	l2.ID, l2.Type, l2.Feature, l2.RingEnhancement = 2, TypeMetastasis, "target sign", true
	return Record{
		Case: "case_0001", CaseIndex: 1, Split: "train", SliceIndex: 3, SliceCount: 10,
		Image: "images/case_0001/s03.png", Mask: "masks/case_0001/s03_l1.png",
		Rows: 512, Columns: 512, PixelSpacing: [2]float64{0.703125, 0.703125}, HUOffset: HUOffset,
		Geometry: Geometry{ImagePositionPatient: [3]float64{-179.6484375, -179.6484375, -150},
			ImageOrientationPatient: [6]float64{1, 0, 0, 0, 1, 0}, SliceThicknessMM: 5, SpacingBetweenSlicesMM: 5, SliceLocationMM: -150},
		TargetID: 1, Target: l1, Lesions: []Lesion{l1, l2},
		Expressions: []Expression{
			{Level: LevelFull, Text: "A cyst in segment VI.", Attributes: []string{KeyType, KeySegment}},
			{Level: LevelRelational, Text: "The larger of the two lesions.", Relation: &Relation{Kind: RelSize, Order: "larger", Count: 2}},
		},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	recs := []Record{sampleRecord(), sampleRecord()}
	recs[1].SliceIndex = 4
	var buf bytes.Buffer
	if err := WriteManifest(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip changed records:\n%+v\n%+v", got, recs)
	}
}

func TestManifestErrors(t *testing.T) {
	good, _ := MarshalRecord(ptr(sampleRecord()))
	noTarget := sampleRecord()
	noTarget.TargetID = 9
	bad1, _ := MarshalRecord(&noTarget)
	noExpr := sampleRecord()
	noExpr.Expressions = nil
	bad2, _ := MarshalRecord(&noExpr)
	escape := sampleRecord()
	escape.Image = "../etc/passwd"
	bad3, _ := MarshalRecord(&escape)
	for _, tc := range []struct {
		name  string
		input string
		line  int
		is    error
	}{
		{"truncated JSON", string(good) + "\n" + `{"case": "x", `, 3, nil},
		{"not an object", "[1,2]\n", 1, nil},
		{"unknown field", strings.Replace(string(good), `"case"`, `"kase"`, 1), 1, nil},
		{"trailing data", strings.TrimSpace(string(good)) + " {}\n", 1, nil},
		{"target missing", string(good) + string(bad1), 2, ErrInvalidRecord},
		{"no expressions", string(bad2), 1, ErrInvalidRecord},
		{"path escapes", string(bad3), 1, ErrInvalidRecord},
	} {
		_, err := ReadManifest(strings.NewReader(tc.input))
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("%s: err %v, want *LineError", tc.name, err)
			continue
		}
		if le.Line != tc.line {
			t.Errorf("%s: line %d, want %d (%v)", tc.name, le.Line, tc.line, err)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v is not %v", tc.name, err, tc.is)
		}
	}
	// blank lines are fine
	if recs, err := ReadManifest(strings.NewReader("\n" + string(good) + "\n\n")); err != nil || len(recs) != 1 {
		t.Fatalf("blank lines: %d records, %v", len(recs), err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPNGRoundTrip(t *testing.T) {
	hu := make([]int16, 6*4)
	for i := range hu {
		hu[i] = int16(i*97 - 1024)
	}
	hu[0], hu[1] = -32768, 32767
	var buf bytes.Buffer
	if err := EncodeHU(&buf, hu, 6, 4, HUOffset); err != nil {
		t.Fatal(err)
	}
	im, err := DecodeHU(bytes.NewReader(buf.Bytes()), HUOffset)
	if err != nil {
		t.Fatal(err)
	}
	if im.Width != 6 || im.Height != 4 || !reflect.DeepEqual(im.HU, hu) {
		t.Fatalf("HU round trip: %+v", im)
	}
	pix := []uint8{0, 1, 0, 7, 0, 0}
	buf.Reset()
	if err := EncodeMask(&buf, pix, 3, 2); err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMask(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Pix, []uint8{0, 1, 0, 1, 0, 0}) || m.Area() != 2 {
		t.Fatalf("mask round trip: %v", m.Pix)
	}
	// the mask file holds 0/255
	img, _ := png.Decode(bytes.NewReader(buf.Bytes()))
	if g := img.(*image.Gray); g.Pix[1] != 255 || g.Pix[0] != 0 {
		t.Fatalf("mask bytes %v", g.Pix)
	}
	// an 8-bit image is not a slice, a 16-bit one is not a mask
	if _, err := DecodeHU(bytes.NewReader(buf.Bytes()), HUOffset); !errors.Is(err, ErrPixelFormat) {
		t.Fatalf("8-bit as HU: %v", err)
	}
	buf.Reset()
	EncodeHU(&buf, hu, 6, 4, HUOffset)
	if _, err := DecodeMask(bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrPixelFormat) {
		t.Fatalf("16-bit as mask: %v", err)
	}
}

// lvitFixture builds an LViT folder: Train with a CSV table, Val with an
// xlsx table, QaTa-style mask_ names and a MoNuSeg-style other extension.
func lvitFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Train_Folder/img/covid_1.png", []byte("x"))
	write("Train_Folder/labelcol/mask_covid_1.png", []byte("x"))
	write("Train_Folder/img/slide_2.tif", []byte("x"))
	write("Train_Folder/labelcol/slide_2.png", []byte("x"))
	write("Train_Folder/Train_text.csv", []byte("\ufeffImage,Description\n"+
		"mask_covid_1.png,\"Bilateral pulmonary infection, two infected areas, lower left lung.\"\n"+
		"slide_2.png,Many nuclei\n\n"))
	write("Val_Folder/img/covid_9.png", []byte("x"))
	write("Val_Folder/labelcol/mask_covid_9.png", []byte("x"))
	write("Val_Folder/Val_text.xlsx", xlsxFixture(t, [][]string{
		{"Image", "Description"},
		{"mask_covid_9.png", "Unilateral pulmonary infection, one infected area, middle right lung."},
	}))
	return root
}

// xlsxFixture writes a minimal workbook: shared strings for row 1, an
// inline string and a number elsewhere.
func xlsxFixture(t *testing.T, rows [][]string) []byte {
	t.Helper()
	var shared []string
	idx := map[string]int{}
	var sheet strings.Builder
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for r, row := range rows {
		sheet.WriteString(`<row r="` + itoa(r+1) + `">`)
		for c, v := range row {
			ref := string(rune('A'+c)) + itoa(r+1)
			if c == 0 {
				if _, ok := idx[v]; !ok {
					idx[v] = len(shared)
					shared = append(shared, v)
				}
				sheet.WriteString(`<c r="` + ref + `" t="s"><v>` + itoa(idx[v]) + `</v></c>`)
			} else {
				sheet.WriteString(`<c r="` + ref + `" t="inlineStr"><is><t>` + xmlEscape(v) + `</t></is></c>`)
			}
		}
		sheet.WriteString(`<c r="D` + itoa(r+1) + `"><v>3.5</v></c></row>`)
	}
	sheet.WriteString(`</sheetData></worksheet>`)
	var sst strings.Builder
	sst.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for i, s := range shared {
		if i == 0 {
			// rich text with a phonetic run that must be ignored
			sst.WriteString(`<si><r><t>` + xmlEscape(s[:2]) + `</t></r><r><t>` + xmlEscape(s[2:]) + `</t></r><rPh><t>IGNORED</t></rPh></si>`)
			continue
		}
		sst.WriteString(`<si><t>` + xmlEscape(s) + `</t></si>`)
	}
	sst.WriteString(`</sst>`)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"[Content_Types].xml":      `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"xl/workbook.xml":          `<?xml version="1.0"?><workbook/>`,
		"xl/sharedStrings.xml":     sst.String(),
		"xl/worksheets/sheet1.xml": sheet.String(),
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func itoa(i int) string { return strconv.Itoa(i) }

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestReadLViT(t *testing.T) {
	root := lvitFixture(t)
	got, err := ReadLViT(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got["Train"]) != 2 || len(got["Val"]) != 1 {
		t.Fatalf("splits %v", got)
	}
	tr := got["Train"]
	if filepath.Base(tr[0].Image) != "covid_1.png" || filepath.Base(tr[0].Mask) != "mask_covid_1.png" ||
		tr[0].Text != "Bilateral pulmonary infection, two infected areas, lower left lung." {
		t.Fatalf("QaTa row: %+v", tr[0])
	}
	if filepath.Base(tr[1].Image) != "slide_2.tif" || tr[1].Text != "Many nuclei" {
		t.Fatalf("MoNuSeg row: %+v", tr[1])
	}
	v := got["Val"][0]
	if filepath.Base(v.Image) != "covid_9.png" || v.Text != "Unilateral pulmonary infection, one infected area, middle right lung." || v.Split != "Val" {
		t.Fatalf("xlsx row: %+v", v)
	}
}

func TestReadXLSXCells(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.xlsx")
	os.WriteFile(p, xlsxFixture(t, [][]string{{"Image", "Description"}, {"a&b.png", "x < y"}}), 0o644)
	rows, err := ReadXLSX(p)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Image", "Description", "", "3.5"}, {"a&b.png", "x < y", "", "3.5"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("cells %q, want %q", rows, want)
	}
	os.WriteFile(p, []byte("not a zip"), 0o644)
	if _, err := ReadXLSX(p); !errors.Is(err, ErrXLSX) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestReadLViTErrors(t *testing.T) {
	root := lvitFixture(t)
	// a row naming a missing mask
	f, _ := os.OpenFile(filepath.Join(root, "Train_Folder", "Train_text.csv"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("mask_covid_404.png,lost\n")
	f.Close()
	_, err := ReadLViT(root)
	var re *RowError
	if !errors.As(err, &re) || re.Row != 4 || !errors.Is(err, ErrNoMask) {
		t.Fatalf("missing mask: %v", err)
	}
	// a table without the Description column
	os.WriteFile(filepath.Join(root, "Train_Folder", "Train_text.csv"), []byte("Image,Text\nx.png,y\n"), 0o644)
	if _, err := ReadLViT(root); !errors.Is(err, ErrNoColumn) {
		t.Fatalf("missing column: %v", err)
	}
	// a mask without an image
	os.WriteFile(filepath.Join(root, "Train_Folder", "Train_text.csv"), []byte("Image,Description\nmask_covid_1.png,a\n"), 0o644)
	os.Remove(filepath.Join(root, "Train_Folder", "img", "covid_1.png"))
	if _, err := ReadLViT(root); !errors.Is(err, ErrNoImage) {
		t.Fatalf("missing image: %v", err)
	}
	if _, err := ReadLViT(t.TempDir()); !errors.Is(err, ErrNoSplits) {
		t.Fatalf("empty root: %v", err)
	}
}
