// Differential oracle: HuggingFace tokenizers (Rust, via its npm binding).
// Used only by TestHFOracle when TOKENIZER_HF_ORACLE names a node_modules
// folder holding the "tokenizers" package (npm install tokenizers@0.23.2).
// stdin: one JSON object {"text": ..., "T": ...} a line.
// stdout: one JSON object {"ids", "tokens", "offsets"} a line; offsets are
// in characters (code points).
const { Tokenizer } = require("tokenizers");
const fs = require("fs");
const tok = Tokenizer.fromFile(process.argv[2]);
const lines = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
(async () => {
  for (const line of lines) {
    const { text, T, pad } = JSON.parse(line);
    tok.setTruncation(T);
    tok.setPadding({ maxLength: T, padId: pad, padToken: "[PAD]" });
    const e = await tok.encode(text);
    console.log(JSON.stringify({ ids: e.getIds(), tokens: e.getTokens(), offsets: e.getOffsets(), mask: e.getAttentionMask() }));
  }
})();
