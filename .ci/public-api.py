#!/usr/bin/env python3
"""Summarise a crate's public API from rustdoc's JSON output, one line per item, sorted.

    public-api.py target/doc/<crate>.json            # print the summary
    public-api.py --root-count target/doc/<crate>.json

The summary names every item a user can reach from the crate root (through public modules and
re-exports), with function signatures, public fields, enum variants and the traits each public
type implements (derived and hand-written; auto traits and blanket impls are left out). Types
are printed by their own name, not by the private module they live in, so moving code between
private modules does not change the summary; changing what users can name or call does.

.ci/run compares the summary of each library crate with the committed api/<crate>.txt, so an
API change is always a visible diff in review (see api/README.md).
"""

import json
import sys


class Api:
    def __init__(self, doc):
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.root = doc["root"]
        self.lines = set()
        self.seen = set()

    # ---- types -------------------------------------------------------------------------------

    def name_of(self, ident, fallback):
        entry = self.paths.get(str(ident))
        if entry:
            return entry["path"][-1]
        return fallback.split("::")[-1]

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            ab = args["angle_bracketed"]
            parts = []
            for a in ab.get("args", []):
                if "type" in a:
                    parts.append(self.ty(a["type"]))
                elif "lifetime" in a:
                    parts.append(a["lifetime"])
                elif "const" in a:
                    parts.append(str(a["const"].get("expr", "_")))
                else:
                    parts.append("_")
            for c in ab.get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding and "type" in binding["equality"]:
                    parts.append(f'{c["name"]} = {self.ty(binding["equality"]["type"])}')
                else:
                    parts.append(c["name"])
            return "<" + ", ".join(parts) + ">" if parts else ""
        if "parenthesized" in args:
            p = args["parenthesized"]
            out = "(" + ", ".join(self.ty(t) for t in p.get("inputs", [])) + ")"
            if p.get("output"):
                out += " -> " + self.ty(p["output"])
            return out
        return ""

    def bounds(self, bounds):
        out = []
        for b in bounds:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                t = tb["trait"]
                mod = "?" if tb.get("modifier") == "maybe" else ""
                out.append(mod + self.name_of(t["id"], t["path"]) + self.args(t.get("args")))
            elif "outlives" in b:
                out.append(b["outlives"])
        return " + ".join(out)

    def ty(self, t):
        if t is None:
            return "()"
        if "resolved_path" in t:
            r = t["resolved_path"]
            return self.name_of(r["id"], r["path"]) + self.args(r.get("args"))
        if "primitive" in t:
            return t["primitive"]
        if "generic" in t:
            return t["generic"]
        if "borrowed_ref" in t:
            b = t["borrowed_ref"]
            life = (b["lifetime"] + " ") if b.get("lifetime") else ""
            mut = "mut " if b.get("is_mutable") else ""
            return f"&{life}{mut}{self.ty(b['type'])}"
        if "raw_pointer" in t:
            p = t["raw_pointer"]
            return ("*mut " if p.get("is_mutable") else "*const ") + self.ty(p["type"])
        if "slice" in t:
            return f"[{self.ty(t['slice'])}]"
        if "array" in t:
            return f"[{self.ty(t['array']['type'])}; {t['array']['len']}]"
        if "tuple" in t:
            return "(" + ", ".join(self.ty(x) for x in t["tuple"]) + ")"
        if "impl_trait" in t:
            return "impl " + self.bounds(t["impl_trait"])
        if "dyn_trait" in t:
            traits = []
            for p in t["dyn_trait"]["traits"]:
                tr = p["trait"]
                traits.append(self.name_of(tr["id"], tr["path"]) + self.args(tr.get("args")))
            if t["dyn_trait"].get("lifetime"):
                traits.append(t["dyn_trait"]["lifetime"])
            return "dyn " + " + ".join(traits)
        if "qualified_path" in t:
            q = t["qualified_path"]
            return f"<{self.ty(q['self_type'])}>::{q['name']}"
        if "function_pointer" in t:
            sig = t["function_pointer"]["sig"]
            return "fn(" + ", ".join(self.ty(x[1]) for x in sig["inputs"]) + ")" + (
                " -> " + self.ty(sig["output"]) if sig.get("output") else "")
        if "infer" in t:
            return "_"
        return "?"

    def generics(self, g):
        params = []
        for p in g.get("params", []):
            kind = p["kind"]
            if "lifetime" in kind:
                params.append(p["name"])
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                b = self.bounds(kind["type"].get("bounds", []))
                params.append(p["name"] + (": " + b if b else ""))
            elif "const" in kind:
                params.append(f"const {p['name']}: {self.ty(kind['const']['type'])}")
        preds = []
        for w in g.get("where_predicates", []):
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                preds.append(f"{self.ty(bp['type'])}: {self.bounds(bp['bounds'])}")
        out = "<" + ", ".join(params) + ">" if params else ""
        if preds:
            out += " where " + ", ".join(preds)
        return out

    def signature(self, name, f):
        sig = f["sig"]
        header = f.get("header", {})
        quals = ("const " if header.get("is_const") else "") + (
            "unsafe " if header.get("is_unsafe") else "")
        inputs = []
        for arg_name, arg_ty in sig["inputs"]:
            if arg_name == "self":
                rendered = self.ty(arg_ty)
                inputs.append({"Self": "self", "&Self": "&self", "&mut Self": "&mut self"}.get(
                    rendered, "self: " + rendered))
            else:
                inputs.append(f"{arg_name}: {self.ty(arg_ty)}")
        out = f"{quals}fn {name}{self.generics(f['generics'])}(" + ", ".join(inputs) + ")"
        if sig.get("output") is not None:
            out += " -> " + self.ty(sig["output"])
        return out

    # ---- walking -----------------------------------------------------------------------------

    def add(self, line):
        self.lines.add(line)

    def impls(self, path, impl_ids):
        for iid in impl_ids:
            item = self.index.get(str(iid))
            if not item:
                continue
            imp = item["inner"]["impl"]
            if imp.get("is_synthetic") or imp.get("blanket_impl") is not None:
                continue
            if imp.get("trait") is None:
                for mid in imp["items"]:
                    m = self.index.get(str(mid))
                    if not m or m.get("visibility") != "public":
                        continue
                    self.member(path, m)
            else:
                tr = imp["trait"]
                neg = "!" if imp.get("is_negative") else ""
                self.add(f"impl {neg}{self.name_of(tr['id'], tr['path'])}"
                         f"{self.args(tr.get('args'))} for {path}")

    def member(self, path, m):
        inner = m["inner"]
        if "function" in inner:
            self.add(f"pub {self.signature(path + '::' + m['name'], inner['function'])}")
        elif "assoc_const" in inner:
            self.add(f"pub const {path}::{m['name']}: {self.ty(inner['assoc_const']['type'])}")
        elif "assoc_type" in inner:
            self.add(f"pub type {path}::{m['name']}")
        elif "constant" in inner:
            self.add(f"pub const {path}::{m['name']}: {self.ty(inner['constant']['type'])}")

    def fields(self, path, ids):
        for fid in ids:
            f = self.index.get(str(fid))
            if f and f.get("visibility") == "public" and "struct_field" in f["inner"]:
                self.add(f"pub field {path}::{f['name']}: {self.ty(f['inner']['struct_field'])}")

    def item(self, path, item):
        key = (path, item["id"])
        if key in self.seen:
            return
        self.seen.add(key)
        inner = item["inner"]
        kind = next(iter(inner))
        body = inner[kind]
        attrs = json.dumps(item.get("attrs", []))
        non_exhaustive = " #[non_exhaustive]" if "non_exhaustive" in attrs else ""
        if kind == "module":
            self.add(f"pub mod {path}")
            for cid in body["items"]:
                self.child(path, cid)
        elif kind == "use":
            self.reexport(path.rsplit("::", 1)[0], body)
        elif kind == "struct":
            self.add(f"pub struct {path}{self.generics(body['generics'])}{non_exhaustive}")
            k = body["kind"]
            if "plain" in k:
                self.fields(path, k["plain"]["fields"])
            elif "tuple" in k:
                for i, fid in enumerate(k["tuple"]):
                    if fid is None:
                        continue
                    f = self.index.get(str(fid))
                    if f and f.get("visibility") == "public":
                        self.add(f"pub field {path}::{i}: {self.ty(f['inner']['struct_field'])}")
            self.impls(path, body["impls"])
        elif kind == "enum":
            self.add(f"pub enum {path}{self.generics(body['generics'])}{non_exhaustive}")
            for vid in body["variants"]:
                v = self.index[str(vid)]
                vk = v["inner"]["variant"]["kind"]
                vpath = f"{path}::{v['name']}"
                if vk == "plain":
                    self.add(f"pub variant {vpath}")
                elif "tuple" in vk:
                    tys = [self.ty(self.index[str(f)]["inner"]["struct_field"])
                           for f in vk["tuple"] if f is not None]
                    self.add(f"pub variant {vpath}(" + ", ".join(tys) + ")")
                elif "struct" in vk:
                    self.add(f"pub variant {vpath} {{ .. }}")
                    for fid in vk["struct"]["fields"]:
                        f = self.index[str(fid)]
                        self.add(f"pub field {vpath}::{f['name']}: "
                                 f"{self.ty(f['inner']['struct_field'])}")
            self.impls(path, body["impls"])
        elif kind == "union":
            self.add(f"pub union {path}")
        elif kind == "trait":
            self.add(f"pub trait {path}{self.generics(body['generics'])}")
            for mid in body["items"]:
                m = self.index.get(str(mid))
                if m:
                    self.member(path, m)
        elif kind == "function":
            self.add(f"pub {self.signature(path, body)}")
        elif kind == "constant":
            self.add(f"pub const {path}: {self.ty(body['type'])}")
        elif kind == "static":
            self.add(f"pub static {path}: {self.ty(body['type'])}")
        elif kind == "type_alias":
            self.add(f"pub type {path}{self.generics(body['generics'])} = {self.ty(body['type'])}")
        elif kind in ("macro", "proc_macro"):
            self.add(f"pub macro {path}")

    def child(self, parent, cid):
        item = self.index.get(str(cid))
        if not item or item.get("visibility") != "public":
            return
        if "doc(hidden)" in json.dumps(item.get("attrs", [])):
            return
        if "use" in item["inner"]:
            self.reexport(parent, item["inner"]["use"])
            return
        self.item(f"{parent}::{item['name']}", item)

    def reexport(self, parent, use):
        target = use.get("id")
        item = self.index.get(str(target)) if target is not None else None
        if use.get("is_glob"):
            if item and "module" in item["inner"]:
                for cid in item["inner"]["module"]["items"]:
                    self.child(parent, cid)
            else:
                self.add(f"pub use {parent}::{use['source']}::*")
            return
        if item is None:
            # A re-export of another crate's item: name it by its source path.
            self.add(f"pub use {parent}::{use['name']} = {use['source']}")
            return
        if "doc(hidden)" in json.dumps(item.get("attrs", [])):
            return
        self.item(f"{parent}::{use['name']}", item)

    def run(self):
        root = self.index[str(self.root)]
        name = root["name"]
        for cid in root["inner"]["module"]["items"]:
            self.child(name, cid)
        return sorted(self.lines)

    def root_names(self):
        root = self.index[str(self.root)]
        names = set()
        for cid in root["inner"]["module"]["items"]:
            item = self.index.get(str(cid))
            if not item or item.get("visibility") != "public":
                continue
            if "doc(hidden)" in json.dumps(item.get("attrs", [])):
                continue
            if "use" in item["inner"]:
                use = item["inner"]["use"]
                target = self.index.get(str(use.get("id")))
                if target and "doc(hidden)" in json.dumps(target.get("attrs", [])):
                    continue
                if use.get("is_glob") and target and "module" in target["inner"]:
                    for gid in target["inner"]["module"]["items"]:
                        g = self.index.get(str(gid))
                        if g and g.get("visibility") == "public":
                            names.add(g.get("name") or g["inner"].get("use", {}).get("name"))
                    continue
                names.add(use["name"])
            else:
                names.add(item["name"])
        return len(names)


def main(argv):
    count = "--root-count" in argv
    files = [a for a in argv[1:] if not a.startswith("--")]
    if len(files) != 1:
        sys.exit("usage: public-api.py [--root-count] <crate.json>")
    with open(files[0], encoding="utf-8") as fh:
        api = Api(json.load(fh))
    if count:
        print(api.root_names())
    else:
        for line in api.run():
            print(line)


if __name__ == "__main__":
    main(sys.argv)
