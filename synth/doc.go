// Package synth generates a synthetic referring-expression segmentation
// set of liver lesions on abdominal CT, shaped like RefHL-Seg (231 cases,
// about 2,300 slices): several lesions share a slice and only the text
// says which one is meant.
//
// # Phantom
//
// Each case is a patient and a short stack of 512×512 slices (8–12 by
// default, 5 mm apart and 5 mm thick), in Hounsfield units, pixel spacing
// 0.6–0.9 mm chosen to fit the body in the field of view. Geometry
// follows DICOM (LPS): image orientation 1/0/0/0/1/0, image position
// patient of the first pixel, slice location = z, slice index 0 the most
// cranial. The anatomy is drawn from a few dozen random parameters per
// case: body outline, subcutaneous fat (about −100 HU), abdominal wall
// and paraspinal muscle (40–60), ribs, a vertebra with cortex (750–950)
// and cancellous bone (300–380) and spinal canal, aorta (150–195) and
// IVC, kidneys with cortex and medulla, spleen, stomach with an air–fluid
// level, gut loops, pancreas, gallbladder, lung bases in the top slices,
// and a liver (85–108, portal venous phase) with hepatic and portal veins.
// Couinaud segments are known per pixel from a geometric partition: the
// planes of the right, middle and left hepatic veins radiating from the
// IVC split the right posterior (VI/VII), right anterior (V/VIII), medial
// (IVa/IVb) and left lateral (II/III) sections; the portal plane splits
// upper from lower segments; the caudate lobe (I) lies left-anterior of
// the IVC at mid heights. Slices get a smooth tissue texture, a
// reconstruction blur, and correlated Gaussian noise (σ 10–18 HU).
//
// # Lesions
//
// Lesions are 3D (ellipsoids with low-order lobulation), persist across
// neighbouring slices and are placed wholly (≥92 %) in the liver, apart
// from each other, at most four per slice, so that every slice crosses
// at least one. Five types have distinct looks: cyst (0–15 HU, sharp,
// homogeneous), hemangioma (hypodense with peripheral nodular
// enhancement), HCC (heterogeneous mosaic, optional enhancing capsule,
// necrosis when large), metastasis (hypodense, with ring enhancement or a
// target sign, or plain), FNH (iso- or slightly hyperdense with a
// stellate central scar when large). A case often holds several lesions
// of the same type. Per slice, each lesion's long and short axes, area,
// centroid and majority Couinaud segment are measured from its mask.
//
// # Expressions
//
// Each lesion section of at least 5 mm is a target: one record per
// (slice, target) with a full description in the style of RefHL-Seg
// ("A vascular tumor in the VI segment of the liver, with a diameter of
// 7.5mm, irregular shape, clear boundary, and no ring enhancement."),
// half and quarter descriptions keeping about 1/2 and 1/4 of the
// attributes, and a relational one where a relation singles the target
// out ("the larger of the two cysts", "the lesion nearest the
// gallbladder fossa", "the more anterior of the two metastases"). Every
// expression is checked against all lesions on the slice and must match
// only the target; failed candidates are redrawn, and a level with none
// left is dropped and counted (Summary.Dropped).
//
// # Output and determinism
//
// Generate writes the layout described in package dataset (images,
// masks, manifest.jsonl, dataset.json), split by case into train, val
// and test (80/10/10). Every case draws from its own random stream
// seeded by (Seed, case index), cases are built in parallel, and the
// manifest is assembled in case order, so the same Config gives the same
// bytes whatever the number of workers (for a given Go release and
// GOARCH: the float arithmetic is not promised bit-identical across
// architectures).
package synth
