// Package bundle reads and writes LSMS model bundles.
//
// A bundle is a directory:
//
//	manifest.json        format, model name and config, preprocessing,
//	                     tokenizer, threshold, and every file with its SHA-256
//	vocab.txt            the WordPiece vocabulary (role "vocab")
//	lsms_text.tflite     token ids + mask → word features (role "text")
//	lsms_vision.tflite   image + word features + mask → logits (role "vision")
//	lsms.tflite          optional: both graphs in one file, signatures
//	                     "text" and "vision" (role "combined")
//
// Load verifies the format version and every file's size and hash and
// refuses a mismatch with a typed error naming the file. Write stores the
// files atomically and the manifest last, so a bundle directory is either
// complete or has no (new) manifest.
package bundle
