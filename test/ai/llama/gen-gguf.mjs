#!/usr/bin/env node
// gen-gguf.mjs — writes a tiny llama-architecture GGUF model with deterministic
// random weights, for the crm_hygiene AI test harness (see server.mjs).
//
// Usage: node gen-gguf.mjs OUT.gguf [--seed N]
//
// No dependencies beyond Node.js >= 20. The model is NOT trained: its text is
// noise. It exists so that a real llama.cpp runtime can load it, tokenize a
// prompt, run a forward pass and sample tokens under a JSON-schema grammar.
//
// Tokenizer: SentencePiece/llama style ("llama" tokenizer model):
//   0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3..258 byte-fallback tokens
//   <0x00>..<0xFF> (0x80..0xFF never generated, see below), then "▁" (space), every printable ASCII character as a
//   single-character piece, a few multi-character pieces and a few valid
//   non-ASCII characters. Byte fallback
//   lets the vocabulary express any UTF-8 text, hence any JSON document.
//
// Architecture: llama, 2 blocks, n_embd 64, 4 heads, ffn 192, context 4096,
// all tensors F32. The file is ~0.7 MB and is written in ~0.1 s. The same seed
// gives a byte-identical file.

import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
let outPath = null;
let seed = 20240601;
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seed") seed = Number(args[++i]);
    else if (outPath == null) outPath = args[i];
    else usage();
}
if (outPath == null || !Number.isFinite(seed)) usage();
function usage() {
    console.error("usage: node gen-gguf.mjs OUT.gguf [--seed N]");
    process.exit(2);
}

// ---------------------------------------------------------------- hyperparams
const N_LAYER = 2;
const N_EMBD = 64;
const N_HEAD = 4;
const N_HEAD_KV = 4;
const HEAD_DIM = N_EMBD / N_HEAD;
const N_FF = 192;
const N_CTX_TRAIN = 4096;
const RMS_EPS = 1e-5;

// ---------------------------------------------------------------- vocabulary
const TT = {NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6};
const tokens = [];
const scores = [];
const types = [];
const seen = new Set();
function addToken(text, score, type) {
    if (seen.has(text)) return;
    seen.add(text);
    tokens.push(text);
    scores.push(score);
    types.push(type);
}
addToken("<unk>", 0, TT.UNKNOWN);
addToken("<s>", 0, TT.CONTROL);
addToken("</s>", 0, TT.CONTROL);
// Byte-fallback tokens. 0x00..0x7F are BYTE tokens (the grammar needs <0x0A>
// and <0x09> for newline/tab whitespace). 0x80..0xFF are present so any UTF-8
// prompt tokenizes, but typed UNUSED: llama.cpp then gives them an empty piece
// and its grammar sampler never emits them. Reason: the grammar's UTF-8
// decoder accepts byte sequences that are not valid UTF-8 (lead bytes
// C0/C1/F5-FF, overlongs, surrogates, > U+10FFFF); a random model picks them,
// and the reply then decodes to U+FFFD runs that break maxLength and any
// strict consumer. Non-ASCII output still happens through the valid
// multi-byte pieces below and through \uXXXX escapes.
for (let b = 0; b < 256; b++)
    addToken("<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">", 0, b < 0x80 ? TT.BYTE : TT.UNUSED);

// single characters: "▁" stands for a space in SentencePiece pieces
let score = -1;
addToken("\u2581", score--, TT.NORMAL);
for (let c = 0x21; c <= 0x7e; c++)
    addToken(String.fromCharCode(c), score--, TT.NORMAL);

// a few multi-character pieces (merge targets for the SPM tokenizer need their
// halves in the vocabulary; pieces that are unreachable by merging are still
// valid output tokens)
const pieces = [
    "\u2581\u2581", "\u2581\u2581\u2581\u2581", "\":", "\",", "\u2581\"", "{\"", "\"}",
    "th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "ed",
    "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le", "ve",
    "co", "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce",
    "\u2581t", "\u2581a", "\u2581s", "\u2581c", "\u2581w", "\u2581o", "\u2581f", "\u2581m",
    "\u2581th", "\u2581the", "\u2581an", "\u2581and", "\u2581to", "\u2581of", "\u2581in",
    "ing", "ion", "ent", "\u2581co", "\u2581con", "\u2581call", "\u2581me", "\u2581meet",
    "\u2581meeting", "\u2581follow", "\u2581up", "\u2581email", "\u2581customer", "\u2581deal",
    "\u2581account", "\u2581company", "\u2581contact", "\u2581next", "\u2581week",
    "00", "0.", "0.5", "1.0", "-0",
    // valid non-ASCII characters (2, 3 and 4 byte UTF-8)
    "\u00e9", "\u00fc", "\u00f6", "\u00df", "\u00f1", "\u00e7", "\u2014", "\u2013", "\u201c",
    "\u201d", "\u2019", "\u20ac", "\u00a3", "\u4e2d", "\u6587", "\u65e5", "\u672c", "\u2713",
    "\u{1F600}"
];
for (const p of pieces) addToken(p, score--, TT.NORMAL);

const N_VOCAB = tokens.length;
const BOS = 1, EOS = 2, UNK = 0;

// ---------------------------------------------------------------- PRNG
// mulberry32 + Box-Muller: deterministic for a given seed on every platform
function mulberry32(a) {
    return function () {
        a |= 0; a = (a + 0x6D2B79F5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const rand = mulberry32(seed >>> 0);
function gauss() {
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

// ---------------------------------------------------------------- tensors
// ggml dims are listed fastest-varying first: a weight used as y = W x with
// x of size IN and y of size OUT has dims [IN, OUT].
const tensors = [];
function tensor(name, dims, init) {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = init(i);
    tensors.push({name, dims, data});
}
const normal = (std) => () => gauss() * std;
const ones = () => 1;

tensor("token_embd.weight", [N_EMBD, N_VOCAB], normal(1.0));
for (let l = 0; l < N_LAYER; l++) {
    const p = `blk.${l}.`;
    tensor(p + "attn_norm.weight", [N_EMBD], ones);
    tensor(p + "attn_q.weight", [N_EMBD, N_EMBD], normal(1 / Math.sqrt(N_EMBD)));
    tensor(p + "attn_k.weight", [N_EMBD, HEAD_DIM * N_HEAD_KV], normal(1 / Math.sqrt(N_EMBD)));
    tensor(p + "attn_v.weight", [N_EMBD, HEAD_DIM * N_HEAD_KV], normal(1 / Math.sqrt(N_EMBD)));
    tensor(p + "attn_output.weight", [N_EMBD, N_EMBD], normal(0.5 / Math.sqrt(N_EMBD)));
    tensor(p + "ffn_norm.weight", [N_EMBD], ones);
    tensor(p + "ffn_gate.weight", [N_EMBD, N_FF], normal(1 / Math.sqrt(N_EMBD)));
    tensor(p + "ffn_up.weight", [N_EMBD, N_FF], normal(1 / Math.sqrt(N_EMBD)));
    tensor(p + "ffn_down.weight", [N_FF, N_EMBD], normal(0.5 / Math.sqrt(N_FF)));
}
tensor("output_norm.weight", [N_EMBD], ones);
tensor("output.weight", [N_EMBD, N_VOCAB], normal(1 / Math.sqrt(N_EMBD)));

// ---------------------------------------------------------------- metadata
const T = {U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10};
const kv = [
    ["general.architecture", T.STRING, "llama"],
    ["general.name", T.STRING, "crm-hygiene-tiny-random"],
    ["general.description", T.STRING, "untrained random-weight test model; output is noise"],
    ["general.file_type", T.U32, 0], // all F32
    ["general.alignment", T.U32, 32],
    ["llama.context_length", T.U32, N_CTX_TRAIN],
    ["llama.embedding_length", T.U32, N_EMBD],
    ["llama.block_count", T.U32, N_LAYER],
    ["llama.feed_forward_length", T.U32, N_FF],
    ["llama.attention.head_count", T.U32, N_HEAD],
    ["llama.attention.head_count_kv", T.U32, N_HEAD_KV],
    ["llama.attention.layer_norm_rms_epsilon", T.F32, RMS_EPS],
    ["llama.rope.dimension_count", T.U32, HEAD_DIM],
    ["llama.rope.freq_base", T.F32, 10000],
    ["llama.vocab_size", T.U32, N_VOCAB],
    ["tokenizer.ggml.model", T.STRING, "llama"],
    ["tokenizer.ggml.tokens", T.ARRAY, [T.STRING, tokens]],
    ["tokenizer.ggml.scores", T.ARRAY, [T.F32, scores]],
    ["tokenizer.ggml.token_type", T.ARRAY, [T.I32, types]],
    ["tokenizer.ggml.bos_token_id", T.U32, BOS],
    ["tokenizer.ggml.eos_token_id", T.U32, EOS],
    ["tokenizer.ggml.unknown_token_id", T.U32, UNK],
    ["tokenizer.ggml.add_bos_token", T.BOOL, true],
    ["tokenizer.ggml.add_eos_token", T.BOOL, false]
];

// ---------------------------------------------------------------- writer
const ALIGN = 32;
const chunks = [];
let size = 0;
function push(buf) { chunks.push(buf); size += buf.length; }
function u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); push(b); }
function i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); push(b); }
function u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); push(b); }
function f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); push(b); }
function str(s) { const b = Buffer.from(s, "utf8"); u64(b.length); push(b); }
function value(type, v) {
    switch (type) {
        case T.U32: return u32(v);
        case T.I32: return i32(v);
        case T.F32: return f32(v);
        case T.U64: return u64(v);
        case T.BOOL: return push(Buffer.from([v ? 1 : 0]));
        case T.STRING: return str(v);
        case T.ARRAY: {
            const [elemType, items] = v;
            u32(elemType);
            u64(items.length);
            for (const item of items) value(elemType, item);
            return;
        }
        default: throw new Error("unsupported gguf type " + type);
    }
}
function pad() {
    const rem = size % ALIGN;
    if (rem !== 0) push(Buffer.alloc(ALIGN - rem));
}

push(Buffer.from("GGUF", "ascii"));
u32(3); // version
u64(tensors.length);
u64(kv.length);
for (const [key, type, v] of kv) {
    str(key);
    u32(type);
    value(type, v);
}
let offset = 0;
for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(0); // GGML_TYPE_F32
    u64(offset);
    t.offset = offset;
    offset += t.data.byteLength;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
}
pad();
const dataStart = size;
for (const t of tensors) {
    const want = dataStart + t.offset;
    if (size < want) push(Buffer.alloc(want - size));
    push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
pad();

fs.mkdirSync(path.dirname(path.resolve(outPath)), {recursive: true});
const tmp = outPath + ".tmp-" + process.pid;
fs.writeFileSync(tmp, Buffer.concat(chunks, size));
fs.renameSync(tmp, outPath);
console.error(`gen-gguf: wrote ${outPath} (${size} bytes, vocab ${N_VOCAB}, ${tensors.length} tensors, seed ${seed})`);
