package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/synth/dataset"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tokenizer"
)

func init() {
	register(&command{
		name:    "tokenize",
		summary: "BERT WordPiece: encode expressions to ids, or build a vocabulary from a corpus",
		usage:   "--vocab VOCAB [--len T] [--json] TEXT... | --train-vocab CORPUS.txt --size N --out vocab.txt | --manifest DIR/manifest.jsonl [--vocab V | --size N --vocab-out V] --out tokens.jsonl",
		example: "lsms tokenize --vocab models/vocab.txt --len 32 \"the larger cyst in segment VI\"\nlsms tokenize --train-vocab expressions.txt --size 4000 --out vocab.txt",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			vocab := fs.String("vocab", "", "vocab.txt or tokenizer.json (or a folder holding one)")
			T := fs.Int("len", 32, "token length T: pad/truncate to this many ids, [CLS] and [SEP] included")
			asJSON := fs.Bool("json", false, "one JSON object per input line: text, ids, mask, tokens, offsets")
			train := fs.String("train-vocab", "", "build a vocabulary from this corpus (one text per line)")
			size := fs.Int("size", 4000, "vocabulary size for --train-vocab")
			minFreq := fs.Int("min-freq", 2, "minimum pair frequency for --train-vocab")
			out := fs.String("out", "", "output: vocab.txt for --train-vocab, tokens.jsonl for --manifest")
			manifest := fs.String("manifest", "", "tokenize every expression of a synth manifest (one output line per record, same order)")
			vocabOut := fs.String("vocab-out", "", "with --manifest and no --vocab: train a vocabulary on the train split's expressions and write it here")
			return func(args []string, stdout, stderr io.Writer) error {
				if *manifest != "" {
					if *out == "" {
						return usagef("--manifest needs --out")
					}
					return tokenizeManifest(*manifest, *vocab, *vocabOut, *size, *minFreq, *T, *out, stdout)
				}
				if *train != "" {
					if *out == "" {
						return usagef("--train-vocab needs --out")
					}
					corpus, err := readLines(*train)
					if err != nil {
						return err
					}
					toks, err := tokenizer.TrainVocab(corpus, *size, *minFreq)
					if err != nil {
						return err
					}
					if err := tokenizer.WriteVocab(*out, toks); err != nil {
						return err
					}
					fmt.Fprintf(stdout, "wrote %d tokens from %d texts to %s\n", len(toks), len(corpus), *out)
					return nil
				}
				if *vocab == "" {
					return usagef("--vocab is required")
				}
				tk, err := tokenizer.Load(*vocab)
				if err != nil {
					return err
				}
				texts := args
				if len(texts) == 0 || (len(texts) == 1 && texts[0] == "-") {
					texts = nil
					sc := bufio.NewScanner(os.Stdin)
					sc.Buffer(make([]byte, 1<<20), 1<<20)
					for sc.Scan() {
						texts = append(texts, sc.Text())
					}
					if err := sc.Err(); err != nil {
						return err
					}
				}
				enc := json.NewEncoder(stdout)
				for _, text := range texts {
					e, err := tk.Encode(text, *T)
					if err != nil {
						return fmt.Errorf("%q: %w", text, err)
					}
					if *asJSON {
						if err := enc.Encode(map[string]any{"text": text, "ids": e.IDs, "mask": e.Mask, "tokens": e.Tokens, "offsets": e.Offsets, "truncated": e.Truncated}); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(stdout, "%s\n  tokens: %s\n  ids:    %v\n", text, strings.Join(e.Tokens, " "), e.IDs)
					if e.Truncated {
						fmt.Fprintf(stdout, "  (truncated to %d)\n", *T)
					}
				}
				return nil
			}
		},
	})
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// tokenizeManifest writes, for each manifest record in order, the token ids
// and attention mask of each of its expressions, keyed by level: the input
// the Python training side reads, so both sides use the same ids.
func tokenizeManifest(path, vocab, vocabOut string, size, minFreq, T int, out string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	recs, err := dataset.ReadManifest(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var tk *tokenizer.Tokenizer
	switch {
	case vocab != "":
		if tk, err = tokenizer.Load(vocab); err != nil {
			return err
		}
	case vocabOut != "":
		var corpus []string
		for _, r := range recs {
			if r.Split != "train" {
				continue
			}
			for _, e := range r.Expressions {
				corpus = append(corpus, e.Text)
			}
		}
		toks, err := tokenizer.TrainVocab(corpus, size, minFreq)
		if err != nil {
			return err
		}
		if err := tokenizer.WriteVocab(vocabOut, toks); err != nil {
			return err
		}
		if tk, err = tokenizer.FromVocab(toks); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "vocabulary: %d tokens from %d train expressions -> %s\n", len(toks), len(corpus), vocabOut)
	default:
		return usagef("--manifest needs --vocab or --vocab-out")
	}
	// One line per (record, level): the format train/DESIGN.md describes
	// ("lsms-token-ids/v1"); "none" is the empty expression.
	type line struct {
		Record   int     `json:"record"`
		Level    string  `json:"level"`
		IDs      []int32 `json:"ids"`
		Mask     []int32 `json:"attention_mask"`
		Case     string  `json:"case"`
		Slice    int     `json:"slice_index"`
		TargetID int     `json:"target_id"`
	}
	var buf bytes.Buffer
	jw := json.NewEncoder(&buf)
	truncated := 0
	empty, err := tk.Encode("", T)
	if err != nil {
		return err
	}
	for i, r := range recs {
		emit := func(level string, e tokenizer.Encoding) error {
			return jw.Encode(line{Record: i, Level: level, IDs: e.IDs, Mask: e.Mask, Case: r.Case, Slice: r.SliceIndex, TargetID: r.TargetID})
		}
		for _, ex := range r.Expressions {
			en, err := tk.Encode(ex.Text, T)
			if err != nil {
				return fmt.Errorf("record %d %q: %w", i, ex.Text, err)
			}
			if en.Truncated {
				truncated++
			}
			if err := emit(ex.Level, en); err != nil {
				return err
			}
		}
		if err := emit("none", empty); err != nil {
			return err
		}
	}
	sp := tk.SpecialIDs()
	meta, err := json.MarshalIndent(map[string]any{
		"format": "lsms-token-ids/v1", "vocab_size": tk.VocabSize(), "T": T,
		"pad_id": sp.Pad, "cls_id": sp.Cls, "sep_id": sp.Sep, "unk_id": sp.Unk,
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := tflite.WriteFileAtomic(strings.TrimSuffix(out, ".jsonl")+".json", append(meta, '\n')); err != nil {
		return err
	}
	if err := tflite.WriteFileAtomic(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tokenized %d records (T=%d, %d expressions truncated) -> %s\n", len(recs), T, truncated, out)
	return nil
}
