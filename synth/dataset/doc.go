// Package dataset reads referring-expression segmentation datasets: the
// synthetic liver-lesion set written by package synth, and the LViT folder
// layout used by QaTa-COV19 and MosMedData+.
//
// # Synthetic set (package synth)
//
// A dataset folder holds
//
//	dataset.json              Info: seed, encoding, counts, splits
//	manifest.jsonl            one Record per (slice, target lesion)
//	images/case_NNNN/sNN.png  16-bit grey CT slice, value = HU + HUOffset
//	masks/case_NNNN/sNN_lK.png 8-bit mask of lesion K on slice NN (0 or 255)
//
// Every manifest line is a JSON object (Record) carrying the case, split,
// slice index, image and mask paths (relative to the dataset folder), the
// DICOM geometry of the slice (image position and orientation patient,
// pixel spacing, slice thickness and location), the attributes of the
// target lesion and of every lesion visible on the slice, and referring
// expressions at levels full, half, quarter and relational. ReadManifest
// and Open parse it with errors that name the offending line; ReadHU and
// ReadMask decode the PNGs.
//
// # LViT layout
//
// ReadLViT reads a root holding Train_Folder, Val_Folder and Test_Folder,
// each with img/, labelcol/ and a text table (Train_text.csv or .xlsx)
// whose Image column names the mask in labelcol/ and whose Description
// column holds the text. The image in img/ has the mask's name, the mask's
// name without a "mask_" prefix (QaTa-COV19), or the same stem with another
// extension (MoNuSeg).
package dataset
