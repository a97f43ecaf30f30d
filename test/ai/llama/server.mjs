#!/usr/bin/env node
// ============================================================================
// crm_hygiene test harness: OpenAI-compatible chat completions server backed
// by a REAL llama.cpp runtime and a TINY, GENERATED, UNTRAINED model.
// ============================================================================
//
// What this is
//   A small HTTP server (Node's http module, no framework) that speaks the
//   subset of the OpenAI API that crm_hygiene's AI functions use:
//     POST /v1/chat/completions   (response_format type "json_schema" only)
//     GET  /v1/models
//     GET  /health
//   Behind it runs llama.cpp through the npm package node-llama-cpp with its
//   prebuilt CPU binaries (@node-llama-cpp/linux-x64), GPU disabled. The model
//   is a ~0.7 MB llama-architecture GGUF that gen-gguf.mjs writes with
//   deterministic random weights; nothing is downloaded at run time.
//
// Why
//   The extension's tests need a real model server on 127.0.0.1 to exercise
//   the whole path: HTTP client, request building, JSON-schema structured
//   output, response parsing, usage accounting, error handling and retries.
//   Real weights cannot be fetched here (no model hub), and a canned fake
//   would not test the runtime. So the model's *content* is noise, and tests
//   must NEVER assert what the model says. They may assert only that the
//   reply has the OpenAI shape and that the constrained output is valid JSON
//   conforming to the requested schema (when finish_reason is "stop").
//
// How the output stays valid
//   The request's JSON schema is turned into a GBNF grammar by node-llama-cpp
//   (llama.createGrammarForJsonSchema); llama.cpp's grammar sampler then only
//   lets the model pick tokens that keep the text inside the grammar. The
//   server never edits, repairs or fakes what the model produced. The
//   grammar text is node-llama-cpp's with these changes; the first two only
//   remove alternatives (any JSON the narrowed grammar accepts is valid
//   under the request's schema and under node-llama-cpp's grammar):
//     - a number/integer with a small finite minimum..maximum range becomes
//       an enum of grid values in range (see rangeGrid; node-llama-cpp
//       ignores minimum/maximum);
//     - \uXXXX escapes exclude \u0000 and D800-DFFF, exponents have at most
//       two digits, integers have no exponent (PostgreSQL's jsonb/numeric/
//       float8/bigint input would reject the rest; see PG_SAFE);
//     - the trailing `"\n\n\n\n" [\n]*` stop suffix is dropped, so the
//       grammar ends at the closing brace and the sampler must then pick the
//       end-of-sequence token (one token instead of up to four newline
//       tokens counting against max_tokens).
//   If the model has not finished within max_tokens, the reply carries the
//   truncated text with finish_reason "length", as OpenAI does; the client is
//   expected to treat that as a failure (retry / fail the job).
//
// What the grammar does and does not bound (node-llama-cpp 3.21.1)
//   honoured : type, properties (ALL listed properties are always emitted, in
//              order, whether "required" or not), additionalProperties
//              (absent/false => no extra keys), enum, const, oneOf, $ref/$defs,
//              string minLength/maxLength, string format date|time|date-time,
//              array items/prefixItems/minItems/maxItems, min/maxProperties.
//              Numbers are always bounded in length by the grammar itself:
//              at most 16 integer digits, 16 fraction digits, 16 exponent
//              digits (2 with PG_SAFE). Whitespace between tokens is bounded
//              (one optional space, or one newline plus a fixed indentation).
//   ignored  : minimum, maximum, exclusiveMinimum/Maximum, multipleOf,
//              pattern, other formats, uniqueItems, anyOf/allOf/not.
//              So {"type":"number","minimum":0,"maximum":1} would come back
//              as 3e7 or 94e995 (JSON.parse: Infinity): well-formed, out of
//              range. This server therefore turns a number/integer with a
//              small finite range into an enum on a grid before building the
//              grammar (see rangeGrid; CRM_LLAMA_RANGE_ENUM=0 turns it off).
//   unbounded: strings without maxLength, arrays without maxItems and
//              additionalProperties:true/schema can grow until max_tokens.
//   Token budget: with this model's vocabulary one string character costs at
//   most 6 tokens (a \uXXXX escape spelled one character per token), so a
//   string with maxLength N costs at most 6*N+2 tokens; each key, enum value
//   and punctuation mark at most its length in characters; whitespace at most
//   5 tokens per gap; a number at most 38 (PG_SAFE) tokens; the closing
//   end-of-sequence token is not counted. A reply whose worst case fits
//   max_tokens ALWAYS completes (finish_reason "stop"). Schemas that always
//   complete at small budgets: enum/const/boolean/bounded-range values and
//   short maxLength strings. Measured with max_tokens 128 (check-schemas.mjs,
//   200 runs each): classify and extract 200/200 valid, a maxLength 200
//   string 167-198/200 (rest truncated, finish_reason "length"); with
//   max_tokens 256 and more, 100/100. crm._ai_reply_schema's kinds at their
//   default budgets (classify 64, score 32, summarize/prompt/extract 512):
//   100/100 each at temperature 0 and 1 (check-schemas.mjs --suite crm).
//
// Usage
//   node server.mjs --model FILE.gguf [--host 127.0.0.1] [--port 0]
//                   [--port-file FILE] [--model-id NAME] [--context-size 4096]
//   Environment: CRM_LLAMA_THREADS (default 1; more threads busy-wait and
//   were 100x slower on a loaded 2-core box), CRM_LLAMA_SEED (default seed
//   used when a request gives none; default 42), CRM_LLAMA_API_KEY (if set,
//   requests must send "Authorization: Bearer <key>"), CRM_LLAMA_RANGE_ENUM
//   (default 1; 0 = do not turn numeric ranges into enums), CRM_LLAMA_PG_SAFE
//   (default 1; 0 = allow \u0000, lone surrogate escapes, 16-digit exponents,
//   integers with exponents).
//   Normally started through ./start STATE_DIR and stopped with ./stop.
//
// Requests are served one at a time (a FIFO queue) on one context sequence.
// Sampling is seeded (request "seed", else CRM_LLAMA_SEED), so identical
// requests get identical replies.
// ============================================================================

import http from "node:http";
import fs from "node:fs";
import crypto from "node:crypto";
import {getLlama, LlamaLogLevel, LlamaGrammarEvaluationState} from "node-llama-cpp";

// ---------------------------------------------------------------- arguments
const opts = {
    host: "127.0.0.1",
    port: 0,
    model: null,
    portFile: null,
    modelId: "crm-tiny-random",
    contextSize: 4096
};
{
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) die(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--model") opts.model = next();
        else if (a === "--host") opts.host = next();
        else if (a === "--port") opts.port = Number(next());
        else if (a === "--port-file") opts.portFile = next();
        else if (a === "--model-id") opts.modelId = next();
        else if (a === "--context-size") opts.contextSize = Number(next());
        else die(`unknown argument ${a}`);
    }
    if (opts.model == null) die("--model FILE.gguf is required");
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die("bad --port");
    if (!Number.isInteger(opts.contextSize) || opts.contextSize < 64) die("bad --context-size");
}
const THREADS = Math.max(1, Number(process.env.CRM_LLAMA_THREADS || 1) | 0);
const DEFAULT_SEED = Number(process.env.CRM_LLAMA_SEED || 42) >>> 0;
const API_KEY = process.env.CRM_LLAMA_API_KEY || "";
const MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_MAX_TOKENS = 256;

function die(msg) {
    console.error(`server.mjs: ${msg}`);
    process.exit(2);
}
function log(msg) {
    console.error(`[${new Date().toISOString()}] ${msg}`);
}

// ---------------------------------------------------------------- model
const t0 = Date.now();
const llama = await getLlama({
    gpu: false,
    build: "never",          // never compile llama.cpp; use the prebuilt binary
    usePrebuiltBinaries: true,
    skipDownload: true,      // never fetch llama.cpp sources
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    maxThreads: THREADS
});
const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
const context = await model.createContext({
    contextSize: opts.contextSize,
    threads: THREADS,
    sequences: 1
});
const sequence = context.getSequence();
const created = Math.floor(Date.now() / 1000);
log(`model ${opts.model} loaded in ${Date.now() - t0} ms ` +
    `(llama.cpp ${llama.llamaCppRelease?.release ?? "?"}, gpu=${llama.gpu}, threads=${THREADS}, ` +
    `context=${context.contextSize}, vocab=${model.tokens.bos != null ? "bos ok" : "no bos"})`);

// ---------------------------------------------------------------- grammar
const NLC_STOP_SUFFIX = / "\\n\\n\\n\\n" \[\\n\]\*$/m;
// PostgreSQL-safe JSON (unless CRM_LLAMA_PG_SAFE=0): jsonb input rejects the
// escape \u0000 and unpaired surrogate escapes, and float8/numeric casts fail
// on huge exponents, all of which node-llama-cpp's grammar allows (a random
// model hits an unpaired surrogate in ~0.5% of 200-char strings). The grammar
// is narrowed to \uXXXX escapes outside 0000 and D800-DFFF, to exponents of
// at most two digits, and to integers without exponent (node-llama-cpp lets
// an "integer" be 5e-3; 16 digits fit bigint). Every text the narrowed grammar accepts is accepted
// by the original one, so the output is still the model's, only more tightly
// constrained.
const PG_SAFE = process.env.CRM_LLAMA_PG_SAFE !== "0";
const NLC_UNICODE_ESCAPE = '"\\\\u" [0-9a-fA-F]{4}';
const PG_SAFE_UNICODE_ESCAPE = '"\\\\u" ( [1-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | ' +
    '"0" ( [1-9a-fA-F] [0-9a-fA-F]{2} | "0" ( [1-9a-fA-F] [0-9a-fA-F] | "0" [1-9a-fA-F] ) ) )';
const NLC_EXPONENT = '([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?';
const PG_SAFE_EXPONENT = '([eE] [-+]? ("0" | [1-9] [0-9]?))?';
const grammarCache = new Map();
async function grammarForSchema(schema) {
    const key = JSON.stringify(schema);
    const hit = grammarCache.get(key);
    if (hit != null) return hit;
    const jsonGrammar = await llama.createGrammarForJsonSchema(schema);
    const gbnf = jsonGrammar.grammar;
    if (!NLC_STOP_SUFFIX.test(gbnf))
        throw new Error("unexpected grammar shape from node-llama-cpp (stop suffix not found)");
    let text = gbnf.replace(NLC_STOP_SUFFIX, "");
    if (PG_SAFE)
        text = text.replaceAll(NLC_UNICODE_ESCAPE, PG_SAFE_UNICODE_ESCAPE)
            .replace(/^(integer-number-rule ::= .*?) \(\[eE\] .*$/m, "$1")
            .replaceAll(NLC_EXPONENT, PG_SAFE_EXPONENT);
    const grammar = await llama.createGrammar({
        grammar: text,
        trimWhitespaceSuffix: false
    });
    if (grammarCache.size >= 64) grammarCache.delete(grammarCache.keys().next().value);
    grammarCache.set(key, grammar);
    return grammar;
}

// Numeric ranges. node-llama-cpp's grammar ignores minimum/maximum, so a
// random model answers {"type":"number","minimum":0,"maximum":1} with 3e7.
// Unless CRM_LLAMA_RANGE_ENUM=0, a number/integer node whose bounds are
// finite and close enough is rewritten, for grammar building only, into an
// enum of the values in range on a grid: integers, else steps of 0.01, 0.1
// or 1, at most 1001 values. Every value the grammar then allows satisfies
// the original schema, so this is a stricter grammar, not a repair; the
// model still picks the value. Wider ranges stay unbounded (logged).
function rangeGrid(schema) {
    const lo = schema.exclusiveMinimum ?? schema.minimum;
    const hi = schema.exclusiveMaximum ?? schema.maximum;
    if (typeof lo !== "number" || typeof hi !== "number" || !Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo)
        return null;
    const scales = schema.type === "integer" ? [1] : [100, 10, 1];
    for (const scale of scales) {
        let a = Math.ceil(lo * scale - 1e-9);
        let b = Math.floor(hi * scale + 1e-9);
        if (typeof schema.exclusiveMinimum === "number" && a / scale <= schema.exclusiveMinimum) a++;
        if (typeof schema.exclusiveMaximum === "number" && b / scale >= schema.exclusiveMaximum) b--;
        if (b < a || b - a > 1000) continue;
        const values = [];
        for (let n = a; n <= b; n++) values.push(scale === 1 ? n : n / scale);
        return values;
    }
    return null;
}
function rewriteRanges(schema) {
    if (Array.isArray(schema)) return schema.map(rewriteRanges);
    if (schema == null || typeof schema !== "object") return schema;
    if ((schema.type === "number" || schema.type === "integer") && schema.enum == null && schema.const == null) {
        const values = rangeGrid(schema);
        if (values != null) return {enum: values, ...(schema.description != null ? {description: schema.description} : {})};
    }
    const out = {};
    for (const [k, v] of Object.entries(schema)) {
        if (k === "enum" || k === "const") out[k] = v;
        else if (k === "properties" || k === "$defs")
            out[k] = Object.fromEntries(Object.entries(v ?? {}).map(([pk, pv]) => [pk, rewriteRanges(pv)]));
        else if (typeof v === "object") out[k] = rewriteRanges(v);
        else out[k] = v;
    }
    return out;
}
const RANGE_ENUM = process.env.CRM_LLAMA_RANGE_ENUM !== "0";

// keywords that node-llama-cpp's grammar does not enforce (logged as a hint)
const UNENFORCED = new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "pattern", "uniqueItems", "anyOf", "allOf", "not", "patternProperties",
    "contains", "if", "then", "else", "dependentRequired", "dependentSchemas"]);
function unenforcedKeywords(schema, found = new Set()) {
    if (Array.isArray(schema)) {
        for (const s of schema) unenforcedKeywords(s, found);
    } else if (schema != null && typeof schema === "object") {
        for (const [k, v] of Object.entries(schema)) {
            if (UNENFORCED.has(k)) found.add(k);
            if (k === "format" && !["date", "time", "date-time"].includes(v)) found.add("format:" + v);
            if (k === "enum" || k === "const") continue;
            if (k === "properties" || k === "$defs") {
                for (const s of Object.values(v ?? {})) unenforcedKeywords(s, found);
            } else if (typeof v === "object") unenforcedKeywords(v, found);
        }
    }
    return found;
}

// ---------------------------------------------------------------- prompt
function contentText(content) {
    if (typeof content === "string") return content;
    if (Array.isArray(content))
        return content.map((part) => {
            if (typeof part === "string") return part;
            if (part != null && part.type === "text" && typeof part.text === "string") return part.text;
            throw new HttpError(400, "only text content parts are supported", "messages");
        }).join("");
    if (content == null) return "";
    throw new HttpError(400, "message content must be a string or an array of text parts", "messages");
}
function buildPrompt(messages) {
    let prompt = "";
    for (const m of messages) {
        const role = String(m.role);
        prompt += `### ${role.charAt(0).toUpperCase()}${role.slice(1)}:\n${contentText(m.content)}\n\n`;
    }
    return prompt + "### Assistant:\n";
}

// ---------------------------------------------------------------- generation
let queue = Promise.resolve();
let queued = 0;
function enqueue(fn) {
    queued++;
    const run = queue.then(fn);
    queue = run.catch(() => {}).finally(() => { queued--; });
    return run;
}

async function generate({prompt, grammar, maxTokens, temperature, topP, seed}) {
    const promptTokens = [];
    if (model.tokens.bos != null && model.tokens.shouldPrependBosToken !== false) promptTokens.push(model.tokens.bos);
    promptTokens.push(...model.tokenize(prompt));
    // +1: room for the end-of-sequence token that closes a finished answer
    if (promptTokens.length + maxTokens + 1 > context.contextSize)
        throw new HttpError(400,
            `This model's maximum context length is ${context.contextSize} tokens. ` +
            `However, you requested ${promptTokens.length + maxTokens} tokens ` +
            `(${promptTokens.length} in the messages, ${maxTokens} in the completion).`,
            "messages", "context_length_exceeded");

    await sequence.clearHistory();
    const grammarEvaluationState = new LlamaGrammarEvaluationState({model, grammar});
    const out = [];
    let finish = "length";
    const it = sequence.evaluate(promptTokens, {
        temperature,
        topP,
        seed,
        grammarEvaluationState,
        yieldEogToken: true
    });
    try {
        for await (const token of it) {
            if (model.isEogToken(token)) {
                finish = "stop";
                break;
            }
            if (out.length >= maxTokens) {
                // max_tokens content tokens were produced and the model wants
                // more: the answer is truncated (this token is not returned)
                finish = "length";
                break;
            }
            out.push(token);
        }
    } finally {
        await it.return?.();
    }
    return {
        text: model.detokenize(out),
        promptTokens: promptTokens.length,
        completionTokens: out.length,
        finish
    };
}

// ---------------------------------------------------------------- http
class HttpError extends Error {
    constructor(status, message, param = null, code = null, type = "invalid_request_error") {
        super(message);
        this.status = status;
        this.param = param;
        this.code = code;
        this.type = type;
    }
}
function send(res, status, body) {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {"content-type": "application/json", "content-length": data.length});
    res.end(data);
}
function sendError(res, err) {
    if (!(err instanceof HttpError)) {
        log(`internal error: ${err?.stack ?? err}`);
        err = new HttpError(500, String(err?.message ?? err), null, null, "server_error");
    }
    send(res, err.status, {error: {message: err.message, type: err.type, param: err.param, code: err.code}});
}
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on("data", (c) => {
            size += c.length;
            if (size > MAX_BODY) {
                reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

function parseChatRequest(raw) {
    let body;
    try {
        body = JSON.parse(raw);
    } catch (e) {
        throw new HttpError(400, `We could not parse the JSON body of your request. (${e.message})`);
    }
    if (body == null || typeof body !== "object" || Array.isArray(body))
        throw new HttpError(400, "request body must be a JSON object");
    if (!Array.isArray(body.messages) || body.messages.length === 0)
        throw new HttpError(400, "'messages' must be a non-empty array", "messages");
    for (const m of body.messages)
        if (m == null || typeof m !== "object" || typeof m.role !== "string")
            throw new HttpError(400, "each message needs a string 'role'", "messages");
    if (body.stream === true)
        throw new HttpError(400, "stream=true is not supported by this test server", "stream");
    if (body.n != null && body.n !== 1)
        throw new HttpError(400, "only n=1 is supported", "n");
    const rf = body.response_format;
    if (rf == null || typeof rf !== "object" || rf.type !== "json_schema")
        throw new HttpError(400,
            "this test server only serves structured output: response_format must be " +
            "{\"type\":\"json_schema\",\"json_schema\":{\"name\":...,\"schema\":{...}}}",
            "response_format");
    const js = rf.json_schema;
    if (js == null || typeof js !== "object" || js.schema == null || typeof js.schema !== "object" || Array.isArray(js.schema))
        throw new HttpError(400, "response_format.json_schema.schema must be a JSON schema object",
            "response_format.json_schema.schema");
    if (js.name != null && (typeof js.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(js.name)))
        throw new HttpError(400, "response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$",
            "response_format.json_schema.name");
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS;
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
        throw new HttpError(400, "max_tokens must be a positive integer", "max_tokens");
    const temperature = body.temperature ?? 1;
    if (typeof temperature !== "number" || !(temperature >= 0 && temperature <= 2))
        throw new HttpError(400, "temperature must be a number between 0 and 2", "temperature");
    const topP = body.top_p ?? 1;
    if (typeof topP !== "number" || !(topP > 0 && topP <= 1))
        throw new HttpError(400, "top_p must be a number in (0, 1]", "top_p");
    const seed = body.seed ?? DEFAULT_SEED;
    if (!Number.isInteger(seed))
        throw new HttpError(400, "seed must be an integer", "seed");
    return {
        model: typeof body.model === "string" && body.model !== "" ? body.model : opts.modelId,
        prompt: buildPrompt(body.messages),
        schema: js.schema,
        schemaName: js.name ?? "",
        maxTokens,
        temperature,
        topP,
        seed: seed >>> 0
    };
}

async function handleChat(req, res) {
    const started = Date.now();
    const r = parseChatRequest(await readBody(req));
    const grammarSchema = RANGE_ENUM ? rewriteRanges(r.schema) : r.schema;
    let grammar;
    try {
        grammar = await grammarForSchema(grammarSchema);
    } catch (e) {
        throw new HttpError(400, `unsupported JSON schema: ${e.message}`, "response_format.json_schema.schema");
    }
    const unenforced = unenforcedKeywords(grammarSchema);
    const result = await enqueue(() => generate({
        prompt: r.prompt,
        grammar,
        maxTokens: r.maxTokens,
        temperature: r.temperature,
        topP: r.topP,
        seed: r.seed
    }));
    const id = "chatcmpl-" + crypto.randomBytes(12).toString("hex");
    log(`${id} schema=${r.schemaName || "-"} prompt_tokens=${result.promptTokens} ` +
        `completion_tokens=${result.completionTokens} finish=${result.finish} ${Date.now() - started} ms` +
        (unenforced.size > 0 ? ` unenforced=${[...unenforced].join(",")}` : ""));
    send(res, 200, {
        id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: r.model,
        system_fingerprint: "crm-tiny-random",
        choices: [{
            index: 0,
            message: {role: "assistant", content: result.text, refusal: null},
            logprobs: null,
            finish_reason: result.finish
        }],
        usage: {
            prompt_tokens: result.promptTokens,
            completion_tokens: result.completionTokens,
            total_tokens: result.promptTokens + result.completionTokens
        }
    });
}

const server = http.createServer(async (req, res) => {
    try {
        const url = new URL(req.url, "http://localhost");
        const p = url.pathname.replace(/\/+$/, "");
        if (API_KEY !== "" && p.startsWith("/v1/") &&
            req.headers.authorization !== `Bearer ${API_KEY}`)
            throw new HttpError(401, "Incorrect API key provided.", null, "invalid_api_key");
        if (p === "/health" && req.method === "GET")
            return send(res, 200, {status: "ok", queued});
        if (p === "/v1/models" && req.method === "GET")
            return send(res, 200, {
                object: "list",
                data: [{id: opts.modelId, object: "model", created, owned_by: "crm_hygiene-tests"}]
            });
        if (p === `/v1/models/${opts.modelId}` && req.method === "GET")
            return send(res, 200, {id: opts.modelId, object: "model", created, owned_by: "crm_hygiene-tests"});
        if (p === "/v1/chat/completions") {
            if (req.method !== "POST") throw new HttpError(405, "use POST");
            return await handleChat(req, res);
        }
        throw new HttpError(404, `Unknown request URL: ${req.method} ${url.pathname}`, null, "unknown_url");
    } catch (err) {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
    }
});
server.keepAliveTimeout = 5000;

server.listen(opts.port, opts.host, () => {
    const {port} = server.address();
    if (opts.portFile != null) {
        const tmp = opts.portFile + ".tmp";
        fs.writeFileSync(tmp, String(port) + "\n");
        fs.renameSync(tmp, opts.portFile);
    }
    log(`listening on http://${opts.host}:${port}/v1 (ready ${Date.now() - t0} ms after start)`);
});

let stopping = false;
async function shutdown(sig) {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    server.close();
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
    try {
        await llama.dispose();
    } catch {}
    process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
