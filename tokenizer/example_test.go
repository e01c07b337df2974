package tokenizer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/tokenizer"
)

func Example() {
	tk, err := tokenizer.FromVocab([]string{
		"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		"a", "vascular", "tumor", "of", "the", "liver", "vi", "segment", "in",
		"7", "5", ".", ",", "##mm", "cafe", "肝",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	enc, err := tk.Encode("A vascular tumor in the VI segment, 7.5mm", 16)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(enc.Tokens)
	fmt.Println(enc.IDs)
	fmt.Println(enc.Mask)
	fmt.Println(enc.Offsets[14], enc.Truncated)
	fmt.Println(tk.Tokenize("Café 肝"))
	fmt.Println(tk.Decode(enc.IDs))
	// Output:
	// [[CLS] a vascular tumor in the vi segment , 7 . 5 ##mm [SEP] [PAD] [PAD]]
	// [2 5 6 7 13 9 11 12 17 14 16 15 18 3 0 0]
	// [1 1 1 1 1 1 1 1 1 1 1 1 1 1 0 0]
	// [0 0] false
	// [cafe 肝]
	// a vascular tumor in the vi segment, 7. 5mm
}

func ExampleTokenizer_Encode_truncation() {
	tk, _ := tokenizer.FromVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "two", "cysts"})
	enc, _ := tk.Encode("the larger of the two cysts", 5)
	fmt.Println(enc.Tokens, enc.Truncated)
	// Output:
	// [[CLS] the [UNK] [UNK] [SEP]] true
}

func ExampleTrainVocab() {
	vocab, err := tokenizer.TrainVocab([]string{
		"the lesion nearest the gallbladder fossa",
		"the larger of the two lesions",
	}, 60, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vocab[:5])
	fmt.Println(vocab[len(vocab)-4:])

	dir, err := os.MkdirTemp("", "vocab")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vocab.txt")
	if err := tokenizer.WriteVocab(path, vocab); err != nil {
		fmt.Println(err)
		return
	}
	tk, err := tokenizer.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tk.Tokenize("The lesions"))
	// Output:
	// [[PAD] [UNK] [CLS] [SEP] [MASK]]
	// [##esi ##esio ##esion lesion]
	// [the lesion ##s]
}
