#!/usr/bin/env node
// check-schemas.mjs — measures how often the harness returns complete, valid,
// schema-conforming JSON for the schema shapes crm_hygiene uses.
//
// Usage: CRM_LLAMA_URL=http://127.0.0.1:PORT/v1 node check-schemas.mjs
//          [--runs 20] [--max-tokens N] [--temperature 1] [--only NAME] [--json]
//          [--suite brief|crm]
// Suites: "brief" = the three schemas of the harness brief at max_tokens 128;
// "crm" = the reply schemas and default max_tokens of crm._ai_reply_schema /
// crm._ai_max_tokens (src/sql/88_ai_jobs.sql) as of this writing.
// --max-tokens overrides every schema's budget.
// Exit status: 0 always after a completed run (it measures, it does not gate),
// 2 on a usage or transport error.
//
// The conformance check is deliberately small and independent of
// node-llama-cpp: type, properties, required, additionalProperties:false,
// enum, const, minLength/maxLength (in code points), minimum/maximum,
// items/minItems/maxItems; plus whether PostgreSQL's jsonb input would accept
// the text (a reply that conforms but jsonb rejects is counted as a failure).

const args = process.argv.slice(2);
const opt = {runs: 20, maxTokens: null, temperature: 1, json: false, only: null, suite: "brief"};
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs") opt.runs = Number(args[++i]);
    else if (args[i] === "--max-tokens") opt.maxTokens = Number(args[++i]);
    else if (args[i] === "--temperature") opt.temperature = Number(args[++i]);
    else if (args[i] === "--json") opt.json = true;
    else if (args[i] === "--only") opt.only = args[++i];
    else if (args[i] === "--suite") opt.suite = args[++i];
    else { console.error(`unknown argument ${args[i]}`); process.exit(2); }
}
const base = process.env.CRM_LLAMA_URL;
if (!base) { console.error("CRM_LLAMA_URL is not set (eval \"$(test/ai/llama/start DIR)\")"); process.exit(2); }

export const SCHEMAS = {
    classify: {
        type: "object",
        properties: {
            label: {type: "string", enum: ["software", "retail", "finance"]},
            confidence: {type: "number", minimum: 0, maximum: 1}
        },
        required: ["label", "confidence"],
        additionalProperties: false
    },
    extract: {
        type: "object",
        properties: {
            next_step: {type: "string", maxLength: 40},
            urgency: {type: "string", enum: ["low", "medium", "high"]}
        },
        required: ["next_step", "urgency"],
        additionalProperties: false
    },
    summary: {
        type: "object",
        properties: {summary: {type: "string", maxLength: 200}},
        required: ["summary"],
        additionalProperties: false
    }
};

const NOTES = [
    "Acme Corp sells accounting software to mid-size firms.",
    "Called Jane at Globex; she wants a demo next Tuesday.",
    "Initech is a regional grocery chain with 40 stores.",
    "Umbrella Bank asked for pricing on the premium tier.",
    "Follow up with Hooli about the renewal, contract ends in May.",
    "Stark Retail complained about invoice errors twice this month."
];

export function conforms(value, schema, path = "$") {
    const errs = [];
    const typeOf = (v) => v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
    if (schema.const !== undefined && JSON.stringify(value) !== JSON.stringify(schema.const))
        errs.push(`${path}: not const ${JSON.stringify(schema.const)}`);
    if (schema.enum !== undefined && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
        errs.push(`${path}: ${JSON.stringify(value)} not in enum`);
    if (schema.type !== undefined) {
        const types = Array.isArray(schema.type) ? schema.type : [schema.type];
        const t = typeOf(value);
        const ok = types.some((ty) => ty === t || (ty === "integer" && t === "number" && Number.isInteger(value)));
        if (!ok) { errs.push(`${path}: type ${t}, want ${types.join("|")}`); return errs; }
    }
    if (typeof value === "string") {
        const len = [...value].length;
        if (schema.minLength != null && len < schema.minLength) errs.push(`${path}: length ${len} < ${schema.minLength}`);
        if (schema.maxLength != null && len > schema.maxLength) errs.push(`${path}: length ${len} > ${schema.maxLength}`);
    }
    if (typeof value === "number") {
        if (!Number.isFinite(value)) errs.push(`${path}: not finite`);
        if (schema.minimum != null && value < schema.minimum) errs.push(`${path}: ${value} < minimum ${schema.minimum}`);
        if (schema.maximum != null && value > schema.maximum) errs.push(`${path}: ${value} > maximum ${schema.maximum}`);
    }
    if (typeOf(value) === "object") {
        const props = schema.properties ?? {};
        for (const r of schema.required ?? [])
            if (!(r in value)) errs.push(`${path}: missing required ${r}`);
        for (const [k, v] of Object.entries(value)) {
            if (k in props) errs.push(...conforms(v, props[k], `${path}.${k}`));
            else if (schema.additionalProperties === false) errs.push(`${path}: extra key ${JSON.stringify(k)}`);
        }
    }
    if (Array.isArray(value)) {
        if (schema.minItems != null && value.length < schema.minItems) errs.push(`${path}: fewer than ${schema.minItems} items`);
        if (schema.maxItems != null && value.length > schema.maxItems) errs.push(`${path}: more than ${schema.maxItems} items`);
        if (schema.items) value.forEach((v, i) => errs.push(...conforms(v, schema.items, `${path}[${i}]`)));
    }
    return errs;
}

// Would PostgreSQL's jsonb input accept this text? jsonb rejects \u0000,
// unpaired UTF-16 surrogate escapes, and numbers whose exponent exceeds
// NUMERIC's limit (|exponent| > 1000). Returns a reason or null.
export function pgJsonbProblem(text) {
    let inString = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
            if (c === '"') inString = false;
            else if (c === "\\") {
                const e = text[i + 1];
                if (e === "u") {
                    const code = parseInt(text.slice(i + 2, i + 6), 16);
                    if (code === 0) return "\\u0000 escape";
                    if (code >= 0xDC00 && code <= 0xDFFF) return "unpaired low surrogate escape";
                    if (code >= 0xD800 && code <= 0xDBFF) {
                        const next = text.slice(i + 6, i + 8) === "\\u" ? parseInt(text.slice(i + 8, i + 12), 16) : NaN;
                        if (!(next >= 0xDC00 && next <= 0xDFFF)) return "unpaired high surrogate escape";
                        i += 6;
                    }
                    i += 5;
                } else i++;
            }
        } else if (c === '"') inString = true;
        else if (c === "e" || c === "E") {
            const m = /^[eE][-+]?(\d+)/.exec(text.slice(i));
            if (m && Number(m[1]) > 1000) return "number exponent beyond NUMERIC range";
        }
    }
    return null;
}

async function ask(name, schema, i, maxTokens) {
    const body = {
        model: "crm-tiny-random",
        messages: [
            {role: "system", content: `You are a CRM assistant. Answer with JSON for ${name}.`},
            {role: "user", content: NOTES[i % NOTES.length] + ` (case ${i})`}
        ],
        response_format: {type: "json_schema", json_schema: {name, schema, strict: true}},
        max_tokens: maxTokens,
        temperature: opt.temperature,
        seed: 1000 + i
    };
    const t = performance.now();
    const res = await fetch(base + "/chat/completions", {
        method: "POST",
        headers: {"content-type": "application/json"},
        body: JSON.stringify(body)
    });
    const ms = performance.now() - t;
    const reply = await res.json();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(reply)}`);
    return {reply, ms};
}

const obj = (properties) => ({type: "object", additionalProperties: false, required: Object.keys(properties), properties});
export const SUITES = {
    brief: Object.fromEntries(Object.entries(SCHEMAS).map(([k, v]) => [k, {schema: v, maxTokens: 128}])),
    crm: {
        classify: {maxTokens: 64, schema: obj({
            label: {type: "string", enum: ["prospect", "customer", "partner", "churned"]},
            confidence: {type: "number", minimum: 0, maximum: 1}})},
        score: {maxTokens: 32, schema: obj({score: {type: "integer", minimum: 0, maximum: 100}})},
        summarize: {maxTokens: 512, schema: obj({summary: {type: "string", maxLength: 400}})},
        prompt: {maxTokens: 512, schema: obj({answer: {type: "string", maxLength: 1000}})},
        extract: {maxTokens: 512, schema: obj({
            step: {type: "string", maxLength: 80},
            role: {enum: ["champion", "economic buyer", "user", "blocker", "unknown"]}})}
    }
};
if (!(opt.suite in SUITES)) { console.error(`unknown suite ${opt.suite}`); process.exit(2); }

const summary = {};
for (const [name, {schema, maxTokens}] of Object.entries(SUITES[opt.suite])) {
    if (opt.only != null && opt.only !== name) continue;
    const s = {maxTokens: opt.maxTokens ?? maxTokens, runs: opt.runs, stop: 0, length: 0, parsed: 0, conform: 0, pgUnsafe: 0, ms: [], completionTokens: [], failures: []};
    for (let i = 0; i < opt.runs; i++) {
        let r;
        try {
            r = await ask(name, schema, i, opt.maxTokens ?? maxTokens);
        } catch (e) {
            console.error(`${name}#${i}: ${e.message}`);
            process.exit(2);
        }
        const choice = r.reply.choices[0];
        const content = choice.message.content;
        s.ms.push(r.ms);
        s.completionTokens.push(r.reply.usage.completion_tokens);
        if (choice.finish_reason === "stop") s.stop++;
        else s.length++;
        let parsed, errs = ["not parsed"];
        try {
            parsed = JSON.parse(content);
            s.parsed++;
            errs = conforms(parsed, schema);
        } catch {}
        const pgProblem = errs.length === 0 ? pgJsonbProblem(content) : null;
        if (pgProblem != null) { s.pgUnsafe++; errs = ["jsonb would reject: " + pgProblem]; }
        if (errs.length === 0) s.conform++;
        else s.failures.push({i, finish: choice.finish_reason, tokens: r.reply.usage.completion_tokens, errs, content: content.slice(0, 160)});
    }
    const sorted = [...s.ms].sort((a, b) => a - b);
    s.latency = {
        min: Math.round(sorted[0]),
        median: Math.round(sorted[Math.floor(sorted.length / 2)]),
        max: Math.round(sorted[sorted.length - 1])
    };
    s.meanCompletionTokens = Math.round(s.completionTokens.reduce((a, b) => a + b, 0) / s.runs);
    delete s.ms;
    delete s.completionTokens;
    summary[name] = s;
}

if (opt.json) console.log(JSON.stringify(summary, null, 2));
else {
    console.log(`suite=${opt.suite} temperature=${opt.temperature} runs=${opt.runs}`);
    for (const [name, s] of Object.entries(summary)) {
        console.log(`${name.padEnd(9)} max_tokens=${s.maxTokens} finish=stop ${s.stop}/${s.runs}  parse ${s.parsed}/${s.runs}  conform ${s.conform}/${s.runs}` +
            (s.pgUnsafe > 0 ? ` (jsonb-unsafe ${s.pgUnsafe})` : "") +
            `  mean completion tokens ${s.meanCompletionTokens}  latency ms min/median/max ${s.latency.min}/${s.latency.median}/${s.latency.max}`);
        for (const f of s.failures.slice(0, 4))
            console.log(`   #${f.i} finish=${f.finish} tokens=${f.tokens} ${f.errs.join("; ")} :: ${JSON.stringify(f.content)}`);
    }
}
