"""A static checker for the rules of Nextflow's strict syntax parser (the default parser from Nextflow 26.04).

No Nextflow runtime runs here, so this module checks the rules themselves, on a token stream: a lexer that knows
Groovy's comments and strings (GStrings with their `$name` / `${...}` interpolations lexed as code, triple-quoted,
slashy and dollar-slashy strings), bracket pairs, and the `{ }` frames of the code (closures with or without
`->` parameters, blocks, declaration bodies, config blocks) split into statements. It is not a Groovy parser.

Sources (github.com/nextflow-io/nextflow): docs/strict-syntax.mdx ("Preparing for strict syntax"); nf-lang
(modules/nf-lang): ScriptLexer.g4 (strings, when `/` starts a slashy string), ScriptAstBuilder.java (imports, loops,
switch, mixing statements with declarations, `shell` section, `script:` label), ConfigAstBuilder.java (config
statements), script/control/VariableScopeVisitor.java (`f(...)` on a variable: "`f` is not defined"; implicit `it`;
`Channel`; undefined names such as implicit environment variables), config/control/VariableScopeVisitor.java and
config/dsl/ConfigDsl.java (what config values may reference), script/dsl/FeatureFlagDsl.java (deprecated flags).

    check(text, "script" | "config") -> [Violation(line, rule, message), ...]
    check_file(path)                  -> the same, the kind from the suffix (.nf, .config)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ENV_STYLE = re.compile(r"[A-Z][A-Z0-9_]*")  # HOME, PWD, SLURM_JOB_NODELIST: environment-variable style
CLASS_NAME = re.compile(r"[A-Z]\w*[a-z]\w*")  # String, Map, JsonSlurper: a type (has a lower-case letter)
PRIMITIVES = {"boolean", "byte", "char", "short", "int", "long", "float", "double", "void"}
KEYWORDS = {
    "as", "assert", "break", "case", "catch", "class", "continue", "def", "default", "do", "else", "enum", "extends",
    "false", "final", "finally", "for", "if", "implements", "import", "in", "instanceof", "interface", "new", "null",
    "return", "super", "switch", "this", "throw", "trait", "true", "try", "var", "while",
} | PRIMITIVES
PACKAGES = {"java", "javax", "groovy"}  # roots of fully-qualified class names: java.util.Date
# The upper-case classes of the packages Groovy imports by default (java.lang, java.util, java.io, java.net,
# groovy.lang, groovy.util: nf-lang ResolveVisitor DEFAULT_PACKAGE_PREFIXES): `UUID.randomUUID()` is no env variable
DEFAULT_IMPORT_CLASSES = {"UUID", "URI", "URL", "IDN"}
MEMBER_OPS = {".", "?.", "*.", ".&", ".@", "::"}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "&=", "|=", "^=", "<<=", ">>=", ">>>="}
CODE_FRAMES = {"closure", "block", "process", "workflow", "agent", "function", "params", "class"}
DECLARATIONS = {"feature-flag", "include", "param", "params", "process", "workflow", "agent", "function", "output",
                "enum", "record"}  # the top-level script declarations (ScriptParser.g4 scriptDeclaration)
DECLARATION_FRAMES = {  # declaration keyword: (frame kind, how its body is read)
    "process": ("process", "code"), "workflow": ("workflow", "code"), "agent": ("agent", "code"),
    "params": ("params", "code"), "output": ("output", "output"), "enum": ("enum", "none"),
    "record": ("record", "none"), "class": ("class", "script"),
}

# Deprecated channel factories (`channel.NAME(...)`), with where that is written:
DEPRECATED_FACTORIES = {
    "from": "deprecated (@Deprecated in modules/nextflow/.../nextflow/Channel.groovy; not in nf-lang's `channel` "
            "namespace, ChannelNamespace.java) -- use `channel.of` or `channel.fromList`",
    "create": "deprecated since DSL2 (docs/migrations/dsl1.mdx)",
    "fromSRA": "deprecated in 26.04 (docs/reference/stdlib-namespaces/channel.mdx) -- use Entrez Direct",
}
# Deprecated channel operators (`.NAME(...)` / `.NAME { }`), with where that is written. Left out on purpose: names
# that are also Groovy collection or String methods (`toInteger` -- `'42'.toInteger()` is the cast strict-syntax.mdx
# recommends --, `countBy`, `first`, `last`, `collate`, `flatten`, `groupBy`, which 26.04 brings back as a typed
# operator) and operators that 26.04 only discourages with static typing (docs/tutorials/static-types-operators.mdx).
_DSL1 = "deprecated since DSL2 (docs/migrations/dsl1.mdx)"
_DROPPED = ("a legacy operator, removed from the operator reference for 26.04.0 (nextflow-io/nextflow a12bde35e, "
            "docs/reference/operator.md) -- use `split{}` and `count`")
DEPRECATED_OPERATORS = {
    "into": _DSL1 + " -- channels fork implicitly", "separate": _DSL1 + " -- use `multiMap`",
    "route": _DSL1 + " -- use `branch`", "choice": _DSL1 + " -- use `branch`", "fork": _DSL1 + " -- use `multiMap`",
    "spread": _DSL1 + " -- use `combine`", "bind": _DSL1,
    "countFasta": _DROPPED.format("Fasta"), "countFastq": _DROPPED.format("Fastq"),
    "countJson": _DROPPED.format("Json"), "countLines": _DROPPED.format("Text"),
    "merge": "deprecated in 26.04.0 as non-deterministic (docs/reference/operator.md at e6faaed00) -- use `join`",
}
DEPRECATED_FLAGS = {  # @Deprecated feature flags (nf-lang script/dsl/FeatureFlagDsl.java)
    "dsl": "`nextflow.enable.dsl` is obsolete (DSL2 is the only DSL) -- remove it",
    "strict": "`nextflow.enable.strict` is deprecated in 26.04 -- the strict parser needs no flag; remove it",
    "configProcessNamesValidation": "`nextflow.enable.configProcessNamesValidation` is deprecated (25.10) -- remove it",
}
CONFIG_NAMES = {"params", "projectDir", "launchDir", "baseDir", "secrets"}  # nf-lang config/dsl/ConfigDsl.java
CLOSURE_NAMES = CONFIG_NAMES | {"task", "workflow", "nextflow", "log", "channel", "moduleDir", "workDir"}


@dataclass(frozen=True, order=True)
class Violation:
    """One rule broken at one line."""

    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.rule}: {self.message}"


# -- lexer ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A token: kind is ident, number, op, string (no interpolation), gstring_begin or gstring_end (a double-quoted
    string, whose `$name` and `${...}` interpolations lie between the two as `$ name . prop` and `${ ... }` tokens)."""

    kind: str
    text: str
    line: int
    nl_before: bool = False  # a line break (or the start of the file) comes before it
    end_line: int = 0  # strings: the line they end on
    quote: str = ""  # strings: ' ''' " """ / $/


EOF = Token("eof", "", 0, True)
_IDENT = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"0[xX][\da-fA-F_]+[lLiIgG]?|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?[lLiIgGdDfF]?")
_OPERATORS = sorted(
    """>>>= ... ..< <<= >>= >>> <=> === !== ==~ **= ?. *. .& .@ :: -> =~ == != <= >= && || ++ -- += -= *= /= %= &= |=
    ^= ** ?: << >> .. ( ) { } [ ] ; , . : ? = + - * / % < > ! & | ^ ~ @""".split(), key=len, reverse=True)
_REGEX_AFTER = KEYWORDS - {"true", "false", "null", "this", "super"}  # a `/` after these starts a slashy string


class _Lexer:
    """Nextflow/Groovy source to tokens (see `tokenize`)."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.newline = True
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        if self.at("#!"):
            self.skip_line()
        self.code(interpolation=False)
        return self.tokens

    def at(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def peek(self, offset: int = 0) -> str:
        return self.text[self.pos + offset : self.pos + offset + 1]

    def advance(self, count: int = 1) -> None:
        end = min(self.pos + count, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def emit(self, kind: str, text: str, line: int | None = None, **extra) -> None:
        self.tokens.append(Token(kind, text, self.line if line is None else line, self.newline, **extra))
        self.newline = False

    def code(self, interpolation: bool) -> None:
        """Code up to the end of the text, or (in a `${...}`) up to its closing brace."""
        depth = 0
        while True:
            self.skip_blanks()
            if self.pos >= len(self.text) or (interpolation and depth == 0 and self.at("}")):
                return
            if self.string():
                continue
            if "0" <= self.peek() <= "9":
                number = _NUMBER.match(self.text, self.pos).group()
                self.emit("number", number)
                self.advance(len(number))
            elif name := _IDENT.match(self.text, self.pos):
                self.emit("ident", name.group())
                self.advance(len(name.group()))
            else:
                op = next((op for op in _OPERATORS if self.at(op)), self.peek())
                depth += {"{": 1, "}": -1}.get(op, 0)
                self.emit("op", op)
                self.advance(len(op))

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.advance((len(self.text) if end < 0 else end) - self.pos)

    def skip_blanks(self) -> None:
        """Whitespace, `//` and `/* */` comments and `\\` line continuations; notes line breaks."""
        while self.pos < len(self.text):
            if self.at("//"):
                self.skip_line()
            elif self.at("/*"):
                end = self.text.find("*/", self.pos + 2)
                end = len(self.text) if end < 0 else end + 2
                self.newline |= "\n" in self.text[self.pos : end]
                self.advance(end - self.pos)
            elif self.at("\\\n"):
                self.advance(2)
            elif self.peek().isspace():
                self.newline |= self.peek() == "\n"
                self.advance()
            else:
                return

    def string(self) -> bool:
        """Lex the string literal that starts here, if one does."""
        if self.at("'''") or self.at("'"):
            self.plain("'''" if self.at("'''") else "'")
        elif self.at('"'):
            self.gstring('"""' if self.at('"""') else '"')
        elif self.at("$/"):
            self.dollar_slashy()
        elif self.at("/") and self.regex_allowed():
            self.slashy()
        else:
            return False
        return True

    def regex_allowed(self) -> bool:
        """Whether a `/` here starts a slashy string rather than a division (ScriptLexer.g4 isRegexAllowed)."""
        last = self.tokens[-1] if self.tokens else EOF
        if last.kind in ("number", "string", "gstring_end"):
            return False
        if last.kind == "ident":
            return last.text in _REGEX_AFTER
        return last.text not in (")", "]", "}")

    def closes(self, quote: str) -> bool:
        """At the closing quote: step past it (a run of quotes that ends a triple-quoted string is part of it)."""
        if not self.at(quote):
            return False
        run = len(quote)
        while run >= 3 and self.peek(run) == quote[0]:
            run += 1
        self.advance(run)
        return True

    def plain(self, quote: str) -> None:
        """A single-quoted string ('...' or '''...'''): no interpolation."""
        line, start = self.line, self.pos
        self.advance(len(quote))
        while self.pos < len(self.text) and not self.closes(quote):
            if self.peek() == "\n" and len(quote) == 1:
                break
            self.advance(2 if self.peek() == "\\" else 1)
        self.emit("string", self.text[start : self.pos], line, end_line=self.line, quote=quote)

    def gstring(self, quote: str) -> None:
        """A double-quoted string ("..." or \"\"\"...\"\"\"): `\\$` is a dollar; `$name.prop` and `${...}` are code."""
        self.emit("gstring_begin", quote, quote=quote)
        self.advance(len(quote))
        while self.pos < len(self.text) and not self.closes(quote):
            if self.peek() == "\n" and len(quote) == 1:
                break
            if self.at("${"):
                self.interpolation()
            elif self.peek() == "$" and _IDENT.match(self.text, self.pos + 1):
                self.path()
            else:
                self.advance(2 if self.peek() == "\\" else 1)
        self.newline = False
        self.emit("gstring_end", quote, end_line=self.line, quote=quote)

    def interpolation(self) -> None:
        self.newline = False
        self.emit("op", "${")
        self.advance(2)
        self.code(interpolation=True)
        self.newline = False
        if self.at("}"):
            self.emit("op", "}")
            self.advance()

    def path(self) -> None:
        """`$name.prop.prop` in a GString, as the tokens `$ name . prop . prop`."""
        self.newline = False
        self.emit("op", "$")
        self.advance()
        while True:
            name = _IDENT.match(self.text, self.pos).group()
            self.emit("ident", name)
            self.advance(len(name))
            if not (self.peek() == "." and _IDENT.match(self.text, self.pos + 1)):
                return
            self.emit("op", ".")
            self.advance()

    def slashy(self) -> None:
        """/regex/ (only `\\/` is an escape); a `/` with no closing slash is a division after all."""
        line, start, end = self.line, self.pos, self.pos + 1
        while end < len(self.text) and self.text[end] != "/":
            end += 2 if self.text.startswith("\\/", end) else 1
        if end >= len(self.text):
            self.emit("op", "/")
            self.advance()
            return
        self.advance(end + 1 - start)
        self.emit("string", self.text[start : self.pos], line, end_line=self.line, quote="/")

    def dollar_slashy(self) -> None:
        """$/.../$ (escapes: `$$`, `$/`)."""
        line, start, end = self.line, self.pos, self.pos + 2
        while end < len(self.text) and not self.text.startswith("/$", end):
            end += 2 if self.text[end] == "$" and self.text[end + 1 : end + 2] in ("$", "/") else 1
        self.advance(min(end + 2, len(self.text)) - start)
        self.emit("string", self.text[start : self.pos], line, end_line=self.line, quote="$/")


def tokenize(text: str) -> list[Token]:
    """The tokens of Nextflow/Groovy source; comments and whitespace dropped, line breaks noted on the next token."""
    return _Lexer(text).run()


# -- structure: bracket pairs, frames and statements ------------------------------------------------------------------


def _opens(token: Token) -> bool:
    return token.kind == "gstring_begin" or token.kind == "op" and token.text in ("(", "[", "{", "${")


def _closes(token: Token) -> bool:
    return token.kind == "gstring_end" or token.kind == "op" and token.text in (")", "]", "}")


@dataclass(eq=False)
class Frame:
    """A `{ }` of the code (or the whole file): closure, block, process, workflow, function, config, output..."""

    kind: str
    open: int
    close: int
    parent: Frame | None
    names: tuple[str, ...] = ()  # config: the scope names of a config block (profiles.<name> included)
    process_scope: bool = False  # config: a process setting, whose closures may reference process inputs
    arrow: int = -1  # closure: the index of its `->`
    params: tuple[str, ...] | None = None  # closure: its declared parameters; None: none declared (implicit `it`)


@dataclass(eq=False)
class Statement:
    """A statement: tokens [start, end) of a frame; shape says what it declares (top level, config level)."""

    start: int
    end: int
    frame: Frame
    section: str = ""  # process/workflow: the section label it is under (input, script, take, ...)
    shape: str = ""


_CONTINUE_AFTER = ASSIGN_OPS | MEMBER_OPS | {
    "+", "-", "*", "/", "%", "**", "&&", "||", "!", "?", ":", "?:", "==", "!=", "===", "!==", "<", ">", "<=", ">=",
    "<=>", "=~", "==~", ",", "->", "|", "&", "^", "~", "<<", ">>", ">>>", "..", "..<", "@",
}
_CONTINUE_BEFORE = MEMBER_OPS | {"?", ":", "?:", "&&", "||", "|", "{"}


class Analysis:
    """One file: its tokens, bracket pairs, `{ }` frames and statements, and what its declarations name."""

    def __init__(self, text: str, kind: str):
        self.kind = kind
        self.tokens = tokenize(text)
        self.match, self.parent = self._pairs()
        self.root = Frame("file", -1, len(self.tokens), None)
        self.frames = [self.root]
        self.frame_at = [self.root] * len(self.tokens)
        self.statements: list[Statement] = []
        self.heads: set[int] = set()  # config setting names, block names, selectors: names, not references
        self.config_values: list[tuple[int, int, bool]] = []  # config values: (start, end, process_scope)
        self.function_params: set[int] = set()  # the `(` of each function's parameter list
        self.function_names: set[int] = set()  # the name of each function declaration
        self._scan(self.root, "script" if kind == "script" else "config")

    # token helpers

    def tok(self, i: int) -> Token:
        return self.tokens[i] if 0 <= i < len(self.tokens) else EOF

    def is_op(self, i: int, *texts: str) -> bool:
        return self.tok(i).kind == "op" and self.tok(i).text in texts

    def is_ident(self, i: int, *texts: str) -> bool:
        return self.tok(i).kind == "ident" and (not texts or self.tok(i).text in texts)

    def close(self, i: int) -> int:
        return self.match[i] if self.match[i] >= 0 else len(self.tokens)

    def is_member(self, i: int) -> bool:
        """`x.name`: a property or method, not a variable."""
        return self.is_op(i - 1, *MEMBER_OPS)

    def is_key(self, i: int) -> bool:
        """`[name: v]`, `f(x, name: v)`: a map key or named argument."""
        return self.is_op(i + 1, ":") and self.is_op(i - 1, "(", "[", ",")

    def is_reference(self, i: int) -> bool:
        """An identifier used as a variable: not a keyword, property, key, call, setting name, type (`new x.Y`,
        `as Y`) or package (`java.util.Date`)."""
        text = self.tok(i).text
        if not self.is_ident(i) or text in KEYWORDS or i in self.heads or self.is_member(i) or self.is_key(i):
            return False
        return not (self.is_op(i + 1, "(") or self.is_ident(i - 1, "new", "as", "instanceof")
                    or text in PACKAGES and self.is_op(i + 1, "."))

    def in_gstring(self, i: int) -> bool:
        """Whether token i is in an interpolation of a GString (and not in a closure inside one)."""
        j = self.parent[i]
        while j >= 0 and not self.is_op(j, "{"):
            if self.tok(j).kind == "gstring_begin":
                return True
            j = self.parent[j]
        return False

    def in_closure(self, i: int) -> bool:
        """Whether token i of a config value is inside a closure."""
        frame = self.frame_at[i]
        while frame.kind not in ("file", "config"):
            if frame.kind == "closure":
                return True
            frame = frame.parent
        return False

    def type_end(self, i: int) -> int:
        """The index after a Groovy type at i (`String`, `java.nio.file.Path`, `Map<String, List>`, `int[]`), or -1."""
        j = i
        while self.is_op(j + 1, ".") and self.is_ident(j + 2):
            j += 2
        if not self.is_ident(j) or not (CLASS_NAME.fullmatch(self.tok(j).text) or self.tok(j).text in PRIMITIVES):
            return -1
        j += 1
        depth = 0
        while self.is_op(j, "<") or depth > 0 and (self.is_ident(j) or self.is_op(j, ",", ".", "?", "<", ">", ">>")):
            depth += self.tok(j).text.count("<") - self.tok(j).text.count(">")
            j += 1
        while self.is_op(j, "[") and self.is_op(j + 1, "]"):
            j += 2
        return j

    def is_lone_string(self, st: Statement) -> bool:
        first = self.tok(st.start)
        return first.kind == "string" and st.end == st.start + 1 or (
            first.kind == "gstring_begin" and self.match[st.start] == st.end - 1)

    def is_code(self, st: Statement) -> bool:
        """A statement of code (not a declaration header, config setting or process directive list)."""
        return st.frame.kind in CODE_FRAMES or st.frame is self.root and st.shape == "statement"

    # scanning

    def _pairs(self) -> tuple[list[int], list[int]]:
        """Each bracket's partner, and each token's innermost open bracket (-1: none)."""
        match, parent, stack = [-1] * len(self.tokens), [-1] * len(self.tokens), []
        for i, token in enumerate(self.tokens):
            if _closes(token) and stack:
                j = stack.pop()
                match[i], match[j] = j, i
            parent[i] = stack[-1] if stack else -1
            if _opens(token):
                stack.append(i)
        return match, parent

    def _split(self, start: int, end: int) -> list[tuple[int, int]]:
        """The statements of tokens [start, end): split at `;` and at line breaks that do not continue an expression."""
        statements, first, i = [], None, start
        while i < end:
            if self.is_op(i, ";"):
                if first is not None:
                    statements.append((first, i))
                first, i = None, i + 1
                continue
            if first is not None and self.tok(i).nl_before and not self._continues(first, i):
                statements.append((first, i))
                first = None
            if first is None:
                first = i
            i = self.close(i) + 1 if _opens(self.tok(i)) else i + 1
        if first is not None:
            statements.append((first, min(i, end)))
        return statements

    def _continues(self, first: int, i: int) -> bool:
        """Whether token i, at the start of a line, continues the statement begun at first."""
        if self.is_label(first, i):
            return False
        return (self.is_op(i - 1, *_CONTINUE_AFTER) or self.is_ident(i - 1, "in", "instanceof", "as", "new")
                or self.is_op(i, *_CONTINUE_BEFORE) or self.is_ident(i, "else", "catch", "finally"))

    def is_label(self, start: int, end: int) -> bool:
        """`input:`, `script:`, `take:`... on a line of its own."""
        return end == start + 2 and self.is_ident(start) and self.is_op(start + 1, ":")

    def _scan(self, frame: Frame, mode: str) -> None:
        """Split a frame into statements, and open (and scan) a frame for each `{` in them."""
        section = ""
        for start, end in self._split(max(frame.open, frame.arrow) + 1, frame.close):
            if self.is_label(start, end):
                section = self.tok(start).text
            statement = Statement(start, end, frame, section)
            self.statements.append(statement)
            shape = getattr(self, f"_{mode}_shape", None)
            heads, scope = shape(statement) if shape else ({}, frame.process_scope)
            i = start
            while i < end:
                if self.is_op(i, "{"):
                    kind, body, names = heads.get(i) or (self._brace_kind(i), "code", ())
                    child = self._frame(i, kind, frame, names, scope)
                    if body != "none":
                        self._scan(child, body)
                    i = child.close
                i += 1

    def _frame(self, i: int, kind: str, parent: Frame, names: tuple[str, ...], scope: bool) -> Frame:
        close = self.close(i)
        frame = Frame(kind, i, close, parent, names, _is_process_scope(names) if kind == "config" else scope)
        if kind == "closure":
            frame.arrow, frame.params = self._closure_params(i, close)
        for j in range(i + 1, close):
            self.frame_at[j] = frame
        self.frames.append(frame)
        return frame

    def _brace_kind(self, i: int) -> str:
        """In code, a `{` after `else`/`try`/`finally`/`do` or after `if (...)`, `for (...)`... opens a block;
        any other (`= {`, `map {`, `f(x) {`, `[{`...) opens a closure."""
        if self.is_ident(i - 1, "else", "try", "finally", "do"):
            return "block"
        if self.is_op(i - 1, ")") and self.is_ident(self.match[i - 1] - 1, "if", "for", "while", "catch", "switch"):
            return "block"
        return "closure"

    def _closure_params(self, open_: int, close: int) -> tuple[int, tuple[str, ...] | None]:
        """The `->` of a closure and the parameter names before it; (-1, None) for a closure without one."""
        names, i = [], open_ + 1
        while i < close:
            if self.is_op(i, "->"):
                return i, tuple(names)
            if self.is_ident(i) and self.is_op(i + 1, ",", "->", "=", ":"):
                names.append(self.tok(i).text)
            i = self.close(i) + 1 if _opens(self.tok(i)) else i + 1
        return -1, None

    def _function_head(self, start: int, end: int) -> tuple[int, int, int] | None:
        """`def name(params) {...}` or `Type name(params) {...}`: the indices of name, `(` and `{`."""
        if not self.is_op(end - 1, "}") or not (self.is_ident(start, "def") or self.type_end(start) > start):
            return None
        brace = self.match[end - 1]
        paren = next((j for j in range(start, max(brace, start)) if self.is_op(j, "(")), -1)
        if paren < start + 2 or not self.is_ident(paren - 1) or brace <= self.close(paren):
            return None
        if any(not (self.is_ident(j) or self.is_op(j, "<", ">", ",", ".", "[", "]")) for j in range(start, paren)):
            return None
        return paren - 1, paren, brace

    def _script_shape(self, st: Statement) -> tuple[dict, bool]:
        """Top level of a script: which declaration a statement is, and the kind of frame its body opens."""
        start, end = st.start, st.end
        word = self.tok(start).text if self.is_ident(start) else ""
        heads = {}
        if function := self._function_head(start, end):
            st.shape = "function"
            self.function_names.add(function[0])
            self.function_params.add(function[1])
            heads[function[2]] = ("function", "code", ())
        elif word == "include":
            st.shape = "include"
            if self.is_op(start + 1, "{"):
                heads[start + 1] = ("include", "none", ())
        elif word in DECLARATION_FRAMES and (brace := self._declaration_brace(start, end, word)) >= 0:
            st.shape = word
            heads[brace] = (*DECLARATION_FRAMES[word], ())
        elif word in ("nextflow", "params") and self.is_op(start + 1, "."):
            st.shape = "feature-flag" if word == "nextflow" else "param"
        else:
            st.shape = "import" if word == "import" else "statement"
        return heads, False

    def _declaration_brace(self, start: int, end: int, word: str) -> int:
        """`process NAME {`, `workflow {`, `output {`, `class A extends B {`...: the index of its `{`, or -1."""
        j = start + 1
        if word == "class":
            while j < end and (self.is_ident(j) or self.is_op(j, ".", ",", "<", ">")):
                j += 1
        elif self.is_ident(j):
            j += 1
        return j if self.is_op(j, "{") and self.close(j) == end - 1 else -1

    def _config_shape(self, st: Statement) -> tuple[dict, bool]:
        """A config statement: includeConfig, assign (`a.b = v`), block (`a {`), selector (`withLabel: 'x' {`), apply
        (`id 'x'` in a block), or what the strict config parser rejects: function, variable, control, other."""
        start, end, frame = st.start, st.end, st.frame
        word = self.tok(start).text if self.is_ident(start) else ""
        path, j = self._config_path(start, end)
        scope = frame.process_scope
        if word == "includeConfig":
            st.shape, value = "includeConfig", start + 1
        elif function := self._function_head(start, end):
            st.shape = "function"
            return {function[2]: ("function", "code", ())}, False
        elif word in ("def", "final") or self.type_end(start) > start and self.is_ident(self.type_end(start)):
            st.shape = "variable"
            return {}, scope
        elif word in ("if", "try", "for", "while", "switch"):
            st.shape = "control"
            return {}, scope
        elif path and self.is_op(j, "="):
            st.shape, value, scope = "assign", j + 1, _is_process_scope(frame.names + path)
            self.heads.update(range(start, j))
        elif len(path) == 1 and self.is_op(j, "{") and self.close(j) == end - 1:
            st.shape = "block"
            self.heads.add(start)
            return {j: ("config", "config", frame.names + path)}, False
        elif word and self.is_op(start + 1, ":") and self.is_op(brace := self._primary_end(start + 2), "{") and (
                self.close(brace) == end - 1):
            st.shape = "selector"
            self.heads.update(range(start, brace))
            return {brace: ("config", "config", frame.names)}, False
        elif word and frame is not self.root and len(path) == 1 and not self.is_op(j, ".", ":"):
            st.shape, value = "apply", start + 1
            self.heads.add(start)
        else:
            st.shape = "other"
            return {}, scope
        self.config_values.append((value, end, scope))
        return {}, scope

    def _primary_end(self, i: int) -> int:
        """The index after a name or string at i (`withName: 'X'`, `withName: "X"`), or -1."""
        if self.is_ident(i) or self.tok(i).kind == "string":
            return i + 1
        return self.match[i] + 1 if self.tok(i).kind == "gstring_begin" else -1

    def _config_path(self, start: int, end: int) -> tuple[tuple[str, ...], int]:
        """`a.b.'c'` at start: its names, and the index after it."""
        path, j = [], start
        while j < end and (self.is_ident(j) or self.tok(j).kind == "string"):
            token = self.tok(j)
            path.append(token.text if token.kind == "ident" else token.text[len(token.quote) : -len(token.quote)])
            if not self.is_op(j + 1, "."):
                return tuple(path), j + 1
            j += 2
        return tuple(path), j

    def _output_shape(self, st: Statement) -> tuple[dict, bool]:
        """In the output block, `name {` opens a block of directives (unless it is a closure with parameters)."""
        start, end = st.start, st.end
        if self.is_ident(start) and self.is_op(start + 1, "{") and self.close(start + 1) == end - 1:
            if self._closure_params(start + 1, end - 1)[0] < 0:
                return {start + 1: ("block", "output", ())}, False
        return {}, False

    # what the file declares

    def declared_at(self, st: Statement) -> list[int]:
        """The names a statement declares: `def x`, `def Type x`, `def (a, b)`, `Type x =`, `x =`, `(a, b) =`."""
        start = st.start
        if self.is_ident(start, "def", "final"):
            if self.is_op(start + 1, "("):
                return self._idents(start + 1)
            j = start + 1
            while self.is_ident(j + 1) and j + 1 < st.end:
                j += 1
            return [j] if self.is_ident(j) else []
        if (j := self.type_end(start)) > start and self.is_ident(j) and self.is_op(j + 1, "="):
            return [j]
        if self.is_ident(start) and self.is_op(start + 1, "="):
            return [start]
        if self.is_op(start, "(") and self.is_op(self.close(start) + 1, "="):
            return self._idents(start)
        return []

    def _idents(self, open_: int) -> list[int]:
        return [j for j in range(open_ + 1, self.close(open_)) if self.is_ident(j) and not self.is_member(j)]

    def callables(self) -> set[str]:
        """Names that can be called like functions: functions, processes, workflows, included names."""
        names = {self.tok(i).text for i in self.function_names}
        names |= {self.tok(st.start + 1).text for st in self.statements
                  if st.shape in ("process", "workflow", "agent") and self.is_ident(st.start + 1)}
        for frame in self.frames:
            if frame.kind == "include":
                names |= {self.tok(j).text for j in self._idents(frame.open)} - {"as"}
        return names

    def declared_names(self) -> set[str]:
        """Every name the file declares anywhere: variables, parameters, process inputs, takes, includes, enums..."""
        names = self.callables()
        for st in self.statements:
            names |= {self.tok(i).text for i in self.declared_at(st)}
            if st.shape in ("enum", "record", "class") and self.is_ident(st.start + 1):
                names.add(self.tok(st.start + 1).text)
            if st.frame.kind == "process" and st.section == "input":
                names |= {self.tok(i).text for i in range(st.start, st.end)
                          if self.is_ident(i) and not self.is_op(i + 1, "(") and not self.is_key(i)}
            if (st.frame.kind == "workflow" and st.section == "take" or st.frame.kind == "params") and self.is_ident(
                    st.start):
                names.add(self.tok(st.start).text)
        for frame in self.frames:
            names |= set(frame.params or ())
            if frame.kind in ("enum", "include"):
                names |= {self.tok(j).text for j in self._idents(frame.open)}
        for paren in self.function_params:
            names |= {self.tok(j).text for j in self._idents(paren) if self.is_op(j + 1, ",", ")", "=", ":")}
        for i in range(len(self.tokens)):
            if self.is_ident(i, "catch") and self.is_op(i + 1, "("):
                names.add(self.tok(self.close(i + 1) - 1).text)
        return names


def _is_process_scope(names: tuple[str, ...]) -> bool:
    """A config setting whose closures may reference process inputs (process.*, agent.*, executor.jobName)."""
    if names[:1] == ("profiles",):
        names = names[2:]
    return names[:1] in (("process",), ("agent",)) or names == ("executor", "jobName")


# -- rules ------------------------------------------------------------------------------------------------------------


def closure_call(a: Analysis):
    """`def f = { ... }` (or `f = { ... }`) then `f(...)`: the strict parser resolves a call by name to functions,
    processes and workflows only, so it reports "`f` is not defined" (VariableScopeVisitor.checkMethodCall)."""
    callables = a.callables()
    closures = [(a.tok(i).text, i, st.frame) for st in a.statements if a.is_code(st) for i in a.declared_at(st)
                if a.is_op(i + 1, "=") and a.is_op(i + 2, "{")]
    for i, token in enumerate(a.tokens):
        if not a.is_ident(i) or not a.is_op(i + 1, "(") or a.is_member(i) or token.text in callables:
            continue
        for name, declared, frame in closures:
            if name == token.text and declared < i < frame.close:
                yield Violation(token.line, "closure-call",
                                f"`{name}` is not defined: it holds a closure (line {a.tok(declared).line}), and only "
                                f"functions, processes and workflows can be called by name -- use `{name}.call(...)`"
                                f" or a top-level `def {name}(...)` function")
                break


def implicit_it(a: Analysis):
    """`it` in a closure that declares no parameters: "Implicit closure parameter is deprecated"."""
    for i, token in enumerate(a.tokens):
        if not a.is_ident(i, "it") or a.is_member(i) or a.is_key(i):
            continue
        frame = a.frame_at[i]  # the closure `it` belongs to: skip blocks, and closures whose parameters lack `it`
        while frame.kind == "block" or frame.kind == "closure" and "it" not in (frame.params or ("it",)):
            frame = frame.parent
        if frame.kind != "closure":
            yield Violation(token.line, "implicit-it", "`it` is not defined (outside a closure)")
        elif frame.params is None:
            yield Violation(token.line, "implicit-it", "implicit closure parameter `it` is deprecated -- declare it: "
                                                       "`{ v -> ... }` (or `{ it -> ... }`)")


def implicit_env(a: Analysis):
    """An upper-case name the file never declares (`$HOME` in a GString, `PWD` in code): an implicit environment
    variable, which the strict parser reports as not defined. Bash variables in a script block are escaped (`\\$HOME`);
    Nextflow code reads the environment with `env('HOME')`."""
    known = a.declared_names() | DEFAULT_IMPORT_CLASSES
    for i, token in enumerate(a.tokens):
        if not ENV_STYLE.fullmatch(token.text) or token.text in known or not a.is_reference(i):
            continue
        named = a.is_op(i - 1, ":") and a.is_ident(i - 2, "emit", "topic") or a.is_ident(i - 1, "env") or (
            a.is_op(i - 1, "(") and a.is_ident(i - 2, "env"))
        if named or a.is_op(i + 1, "{"):
            continue  # `emit: FOO`, `env FOO` (see _unquoted_env), `FOO {`: names, not references
        name = token.text
        if a.in_gstring(i):
            written = f"${name}" if a.is_op(i - 1, "$") else f"${{{name}}}"
            message = (f"`{written}` in a string is a Groovy reference to the environment variable `{name}`, which the "
                       f"strict parser rejects (`{name}` is not defined) -- escape it for bash (`\\${name}`) or use "
                       f"`env('{name}')`")
        else:
            message = f"`{name}` is not defined (an implicit environment variable?) -- use `env('{name}')`"
        yield Violation(token.line, "implicit-env", message)


def channel_type(a: Analysis):
    """`Channel.of(...)`: channel factories are reached through the `channel` namespace (a warning since 25.04)."""
    for i, token in enumerate(a.tokens):
        if a.is_ident(i, "Channel") and not a.is_member(i) and a.is_op(i + 1, ".", "?."):
            yield Violation(token.line, "channel-type", "`Channel` to reach channel factories is deprecated -- use "
                                                        f"`channel.{a.tok(i + 2).text}`")


def deprecated_operator(a: Analysis):
    """Deprecated channel factories (`channel.from`) and operators (`.into`, `.merge`, `.countFasta`...)."""
    for i, token in enumerate(a.tokens):
        if not a.is_ident(i) or not a.is_op(i - 1, ".", "?.") or not a.is_op(i + 1, "(", "{"):
            continue
        factory = a.is_ident(i - 2, "channel", "Channel") and not a.is_member(i - 2)
        if factory and token.text in DEPRECATED_FACTORIES:
            yield Violation(token.line, "deprecated-operator",
                            f"`channel.{token.text}` is {DEPRECATED_FACTORIES[token.text]}")
        elif not factory and token.text in DEPRECATED_OPERATORS:
            yield Violation(token.line, "deprecated-operator",
                            f"operator `{token.text}` is {DEPRECATED_OPERATORS[token.text]}")


# removed (and restricted) syntax: each check one pattern of docs/strict-syntax.mdx


def _removed(token: Token, message: str) -> Violation:
    """A removed-syntax violation at a token's line."""
    return Violation(token.line, "removed-syntax", message)


def _import_declarations(a: Analysis):
    """`import groovy.json.JsonSlurper`: use the fully-qualified name inline."""
    for st in a.statements:
        if a.is_ident(st.start, "import") and a.is_ident(st.start + 1):
            yield _removed(a.tok(st.start), "Groovy `import` declarations are not supported -- use the "
                                            "fully-qualified name inline")


def _class_declarations(a: Analysis):
    """`class Foo { }`: not supported (enums are)."""
    for i, token in enumerate(a.tokens):
        if a.is_ident(i, "class") and not a.is_member(i) and a.is_ident(i + 1):
            yield _removed(token, "class declarations are not supported -- use functions (or enums), or move the "
                                  "class to lib/")


def _loops_and_switch(a: Analysis):
    """`for (...)`, `while (...)`, `do { }` loops and `switch (...)` statements."""
    for i, token in enumerate(a.tokens):
        if a.is_ident(i, "switch") and not a.is_member(i) and a.is_op(i + 1, "("):
            yield _removed(token, "`switch` statements are no longer supported -- use if/else")
        elif a.is_ident(i, "for", "while") and not a.is_member(i) and a.is_op(i + 1, "(") or (
                a.is_ident(i, "do") and a.is_op(i + 1, "{")):
            yield _removed(token, f"`{token.text}` loops are no longer supported -- use `each`, `collect`, `findAll`, "
                                  "`inject`...")


def _increments(a: Analysis):
    """`x++`, `--x`: use `x += 1`."""
    for i, token in enumerate(a.tokens):
        if a.is_op(i, "++", "--"):
            yield _removed(token, f"`{token.text}` is not supported -- use `x {token.text[0]}= 1` as a statement")


def _spread(a: Analysis):
    """`[a, *list]`, `f(*args)`: the spread operator (the spread-dot `list*.name` is fine)."""
    for i, token in enumerate(a.tokens):
        if a.is_op(i, "*") and a.is_op(i - 1, "(", "[", ",") and a.is_op(a.parent[i], "(", "["):
            yield _removed(token, "the spread operator `*list` is not supported -- list the elements explicitly")


def _strings(a: Analysis):
    """Dollar-slashy strings, and slashy strings over several lines or with interpolations."""
    for token in a.tokens:
        if token.kind != "string":
            continue
        if token.quote == "$/":
            yield _removed(token, "dollar-slashy strings `$/.../$` are not supported -- use a (triple-quoted) string")
        elif token.quote == "/" and token.end_line > token.line:
            yield _removed(token, "slashy strings cannot span lines -- use a triple-quoted string")
        elif token.quote == "/" and re.search(r"\$[^\W\d]|\$\{", token.text):
            yield _removed(token, "slashy strings cannot be interpolated -- use a double-quoted string")


def _typed_declarations(a: Analysis):
    """`final x`, `def Type x`, `Type x = ...` (Groovy style: deprecated -- `def x: Type`), `def a = 1, b = 2`."""
    for st in filter(a.is_code, a.statements):
        start, token = st.start, a.tok(st.start)
        typed = a.type_end(start)
        if a.is_ident(start, "final"):
            yield _removed(token, "`final` declarations are not supported -- declare variables with `def`")
        elif a.is_ident(start, "def") and a.is_ident(start + 1) and start + 2 < st.end and a.is_ident(start + 2):
            yield _removed(token, f"`def {a.tok(start + 1).text} {a.tok(start + 2).text}`: Groovy-style types are "
                                  f"deprecated -- `def {a.tok(start + 2).text}` (or `def name: Type`)")
        elif typed > start and a.is_ident(typed) and (a.is_op(typed + 1, "=") or typed + 1 == st.end):
            yield _removed(token, f"`{token.text} {a.tok(typed).text}`: declare variables with `def` "
                                  f"(`def {a.tok(typed).text}` or `def {a.tok(typed).text}: Type`)")
        if a.is_ident(start, "def"):
            level = [i for i in range(start, st.end) if a.parent[i] == st.frame.open]
            if any(a.is_op(i, "=") for i in level) and any(a.is_op(i, ",") for i in level):
                yield _removed(token, "one `def` declares one variable (or `def (a, b) = ...`)")


def _soft_casts(a: Analysis):
    """`(Map) x`: only hard casts (`x as Map`) are supported."""
    for i, token in enumerate(a.tokens):
        if not a.is_op(i, "(") or a.type_end(i + 1) != a.match[i]:
            continue
        before, after = a.tok(i - 1), a.tok(a.match[i] + 1)
        operand_position = before.kind == "op" and before.text not in (")", "]", "}") or before.text in (
            _REGEX_AFTER - {"if", "for", "while", "switch", "catch"}) or before is EOF
        operand = after.kind in ("ident", "number", "string", "gstring_begin") or after.text in ("(", "[")
        if operand_position and operand and after.text not in KEYWORDS - {"new"}:
            yield _removed(token, f"soft casts `({a.tok(i + 1).text}) x` are not supported -- use `x as "
                                  f"{a.tok(i + 1).text}` or a conversion method")


def _assignment_expressions(a: Analysis):
    """`f(x = 1)`, `a = b = 1`: assignments are statements, not expressions."""
    for i, token in enumerate(a.tokens):
        opener = a.parent[i]
        if a.is_op(i, *ASSIGN_OPS) and a.is_op(opener, "(", "[", "${") and opener not in a.function_params and not (
                a.is_ident(opener - 1, "for")):
            yield _removed(token, "assignments are only allowed as statements, not inside an expression")
    for st in a.statements:
        level = [i for i in range(st.start, st.end) if a.is_op(i, *ASSIGN_OPS) and a.parent[i] == st.frame.open]
        for i in level[1:] if not a.is_ident(st.start, "def") else ():  # `def a = 1, b = 2`: _typed_declarations
            yield _removed(a.tok(i), "chained assignment: assignments are only allowed as statements")


def _process_sections(a: Analysis):
    """The `shell:` section (deprecated), and a script with no `script:` label where other sections are."""
    for frame in a.frames:
        if frame.kind != "process":
            continue
        statements = [st for st in a.statements if st.frame is frame]
        labelled = any(st.section for st in statements)
        for st in statements:
            if a.is_label(st.start, st.end) and a.is_ident(st.start, "shell"):
                yield _removed(a.tok(st.start), "the process `shell:` section is deprecated -- use `script:` (with "
                                                "bash variables escaped: `\\$VAR`)")
            elif labelled and st.section in ("", "input", "output", "when") and a.is_lone_string(st):
                yield _removed(a.tok(st.start), "the `script:` (or `exec:`) label is required when other sections "
                                                "are present")


def _unquoted_env(a: Analysis):
    """`env FOO` as a process input/output: the strict parser requires `env 'FOO'`."""
    for st in a.statements:
        if st.frame.kind != "process" or st.section not in ("input", "output"):
            continue
        for i in range(st.start, st.end):
            if not a.is_ident(i, "env") or a.is_member(i) or a.is_key(i):
                continue
            name = i + 1 if a.is_ident(i + 1) else i + 2 if a.is_op(i + 1, "(") and a.is_op(i + 3, ")") else -1
            if a.is_ident(name):
                yield _removed(a.tok(i), f"process `env` names must be quoted: `env '{a.tok(name).text}'`")


def _include_params(a: Analysis):
    """`include { x } from './m' addParams(...)` / `params(...)`: not supported; pass params as inputs."""
    for st in a.statements:
        if st.shape != "include":
            continue
        names_end = a.close(st.start + 1) if a.is_op(st.start + 1, "{") else st.start
        clause = next((i for i in range(names_end + 1, st.end) if a.is_ident(i, "addParams", "params")), None)
        if clause is not None:
            yield _removed(a.tok(clause), f"`{a.tok(clause).text}(...)` in an include is not supported -- pass "
                                          "params to processes and workflows as inputs")


def _deprecated_flags(a: Analysis):
    """`nextflow.enable.dsl = 2` and the other deprecated feature flags."""
    for st in a.statements:
        start = st.start
        if a.is_ident(start, "nextflow") and a.is_ident(start + 2, "enable") and a.is_op(start + 3, "."):
            flag = a.tok(start + 4).text
            if flag in DEPRECATED_FLAGS:
                yield _removed(a.tok(start), DEPRECATED_FLAGS[flag])


def _mixed_declarations(a: Analysis):
    """A script holds declarations (flags, includes, params, processes, workflows, functions...) or statements only."""
    top = [st for st in a.statements if st.frame is a.root]
    if a.kind == "script" and any(st.shape in DECLARATIONS for st in top):
        for st in top:
            if st.shape == "statement":
                yield _removed(a.tok(st.start), "statements cannot be mixed with script declarations -- move them "
                                                "into a process, workflow or function")


REMOVED_SYNTAX = (_import_declarations, _class_declarations, _loops_and_switch, _increments, _spread, _strings,
                  _typed_declarations, _soft_casts, _assignment_expressions, _process_sections, _unquoted_env,
                  _include_params, _deprecated_flags, _mixed_declarations)


def removed_syntax(a: Analysis):
    """Groovy syntax the strict parser removed or restricted (docs/strict-syntax.mdx)."""
    for check_ in REMOVED_SYNTAX:
        yield from check_(a)


# config only


def _config_statements(a: Analysis):
    """The statements of a config file's top level and config blocks (not of closures or functions)."""
    return (st for st in a.statements if st.frame.kind in ("file", "config"))


def config_function(a: Analysis):
    """`def f() { }` in a config file: function declarations are not supported."""
    for st in _config_statements(a):
        if st.shape == "function":
            yield Violation(a.tok(st.start).line, "config-function", "function declarations are not supported in "
                                                                     "config files -- use a closure in a setting")


def config_statement(a: Analysis):
    """Config files hold settings (`a.b = v`), blocks and `includeConfig` only; no variables or if/try statements."""
    messages = {
        "variable": "variable declarations cannot be mixed with config statements",
        "control": "`{}` statements cannot be mixed with config statements -- use a closure or a dynamic "
                   "`includeConfig`",
        "other": "not a config statement -- only assignments (`a.b = value`), blocks and `includeConfig`",
    }
    for st in _config_statements(a):
        if st.shape in messages:
            token = a.tok(st.start)
            yield Violation(token.line, "config-statement", messages[st.shape].replace("{}", token.text))


def config_setting_reference(a: Analysis):
    """A config value may reference params, projectDir, launchDir, baseDir, secrets and `env('X')` (ConfigDsl); in a
    closure also task, workflow and the script builtins, and its own parameters; in a process setting's closure also
    the process inputs (`meta`). Not other settings (`"${google.location}"`: use params)."""
    declared = a.declared_names()
    for start, end, process_scope in a.config_values:
        for i in range(start, end):
            token = a.tok(i)
            if not a.is_reference(i) or token.text in declared or token.text == "it":
                continue
            if ENV_STYLE.fullmatch(token.text) or CLASS_NAME.fullmatch(token.text):
                continue
            in_closure = a.in_closure(i)
            if in_closure and process_scope or token.text in (CLOSURE_NAMES if in_closure else CONFIG_NAMES):
                continue
            yield Violation(token.line, "config-setting-reference",
                            f"`{token.text}` is not defined: config settings cannot be referenced as variables (only "
                            "params, projectDir, launchDir, env('X')...) -- use `params.` values")


SCRIPT_RULES = (closure_call, implicit_it, implicit_env, channel_type, deprecated_operator, removed_syntax)
CONFIG_RULES = SCRIPT_RULES + (config_function, config_statement, config_setting_reference)


def check(text: str, kind: str) -> list[Violation]:
    """The strict-syntax violations of Nextflow source: kind "script" (a .nf file) or "config" (a .config file)."""
    if kind not in ("script", "config"):
        raise ValueError(f"kind must be 'script' or 'config', not {kind!r}")
    analysis = Analysis(text, kind)
    return sorted({violation for rule in (SCRIPT_RULES if kind == "script" else CONFIG_RULES)
                   for violation in rule(analysis)})


def check_file(path: str | Path) -> list[Violation]:
    """check() of a .nf or .config file."""
    path = Path(path)
    kinds = {".nf": "script", ".config": "config"}
    if path.suffix not in kinds:
        raise ValueError(f"{path}: not a .nf or .config file")
    return check(path.read_text(encoding="utf-8"), kinds[path.suffix])
