/**
 * crushtool's grammar (Ceph 16, src/crush/grammar.h) as a recursive-descent parser producing a
 * syntax tree that keeps every token, so later semantic errors can point at line and column.
 *
 *   crushmap    := (tunable | device | type)* (bucket | rule)* choose_args*
 *   tunable     := 'tunable' NAME POSINT
 *   device      := 'device' POSINT NAME ('class' NAME)?
 *   type        := 'type' POSINT NAME
 *   bucket      := NAME NAME '{' ('id' NEGINT ('class' NAME)?)* 'alg' NAME ('hash' (INT | 'rjenkins1'))*
 *                  ('item' NAME ('weight' REAL)? ('pos' POSINT)?)* '}'
 *   rule        := 'rule' NAME? '{' ('id' | 'ruleset') POSINT 'type' ('replicated' | 'erasure' | POSINT)
 *                  ('min_size' POSINT)? ('max_size' POSINT)? step+ '}'
 *   step        := 'step' ( 'take' NAME ('class' NAME)? | ('choose' | 'chooseleaf') ('firstn' | 'indep') INT 'type' NAME
 *                         | 'emit' | 'noop' | SET_STEP POSINT )
 *   choose_args := 'choose_args' POSINT '{' ('{' 'bucket_id' NEGINT weight_set? ids? '}')* '}'
 *   weight_set  := 'weight_set' '[' ('[' REAL* ']')* ']'
 *   ids         := 'ids' '[' INT* ']'
 *
 * Deviations (all accept more, never less): a rule type may be a number and min_size/max_size
 * may be omitted (as Ceph 17+ writes rules), and `step noop` is accepted because the decompiler
 * prints it. Keywords must be separate words (crushtool's parser would also take `stepemit`).
 */
import type { Token } from './lexer.js';
import { CrushParseError } from './parse-error.js';
import { REAL_NUMBER_RE } from './weight.js';

export const NAME_RE = /^[A-Za-z0-9_.-]+$/;
export const POSINT_RE = /^\d+$/;
export const NEGINT_RE = /^-\d+$/;
export const INT_RE = /^-?\d+$/;

export interface TunableNode { kind: 'tunable'; keyword: Token; name: Token; value: Token }
export interface DeviceNode { kind: 'device'; keyword: Token; id: Token; name: Token; deviceClass?: Token }
export interface TypeNode { kind: 'type'; keyword: Token; id: Token; name: Token }
export interface BucketIdNode { keyword: Token; id: Token; deviceClass?: Token }
export interface BucketItemNode { keyword: Token; name: Token; weight?: Token; pos?: Token }
export interface BucketNode {
  kind: 'bucket'; type: Token; name: Token;
  ids: BucketIdNode[]; alg: Token; hashes: Token[]; items: BucketItemNode[];
}
export type SetStepName =
  | 'set_choose_tries' | 'set_choose_local_tries' | 'set_choose_local_fallback_tries'
  | 'set_chooseleaf_tries' | 'set_chooseleaf_vary_r' | 'set_chooseleaf_stable';
export type StepNode =
  | { kind: 'take'; keyword: Token; item: Token; deviceClass?: Token }
  | { kind: 'choose'; keyword: Token; leaf: boolean; mode: Token; num: Token; type: Token }
  | { kind: 'emit' | 'noop'; keyword: Token }
  | { kind: 'set'; keyword: Token; name: SetStepName; value: Token };
export interface RuleNode {
  kind: 'rule'; keyword: Token; name?: Token; id: Token; type: Token;
  minSize?: Token; maxSize?: Token; steps: StepNode[];
}
export interface ChooseArgNode { open: Token; bucketId: Token; weightSet?: { keyword: Token; rows: Token[][] }; ids?: { keyword: Token; values: Token[] } }
export interface ChooseArgsNode { kind: 'choose_args'; keyword: Token; index: Token; args: ChooseArgNode[] }
export type TopNode = TunableNode | DeviceNode | TypeNode | BucketNode | RuleNode | ChooseArgsNode;

const SET_STEPS: ReadonlySet<string> = new Set<SetStepName>([
  'set_choose_tries', 'set_choose_local_tries', 'set_choose_local_fallback_tries',
  'set_chooseleaf_tries', 'set_chooseleaf_vary_r', 'set_chooseleaf_stable',
]);

/** Sections must appear in this order, as in crushtool's grammar. */
const enum Section { Header = 0, Body = 1, ChooseArgs = 2 }

export function parseSyntax(tokens: readonly Token[]): TopNode[] {
  return new SyntaxParser(tokens).parseMap();
}

function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of input' : `'${t.text}'`;
}

class SyntaxParser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parseMap(): TopNode[] {
    const nodes: TopNode[] = [];
    let section = Section.Header;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return nodes;
      if (t.kind !== 'word') throw this.error(t, `unexpected ${describe(t)}, expected a tunable, device, type, bucket, rule or choose_args`);
      const node = this.parseTop(t);
      const wanted = node.kind === 'tunable' || node.kind === 'device' || node.kind === 'type' ? Section.Header
        : node.kind === 'choose_args' ? Section.ChooseArgs : Section.Body;
      if (wanted < section) {
        const where = section === Section.ChooseArgs ? 'choose_args' : 'buckets and rules';
        throw this.error(t, `'${t.text}' must come before ${where}`);
      }
      section = wanted;
      nodes.push(node);
    }
  }

  private parseTop(t: Token): TopNode {
    const next = this.peek(1);
    const looksLikeBucket = next.kind === 'word' && this.peek(2).kind === '{';
    switch (t.text) {
      case 'tunable': return this.parseTunable();
      case 'device': if (!looksLikeBucket || POSINT_RE.test(next.text)) return this.parseDevice(); break;
      case 'type': if (!looksLikeBucket || POSINT_RE.test(next.text)) return this.parseType(); break;
      case 'rule': return this.parseRule();
      case 'choose_args': return this.parseChooseArgs();
    }
    if (!looksLikeBucket) {
      throw this.error(t, `unexpected '${t.text}', expected a tunable, device, type, bucket, rule or choose_args`);
    }
    return this.parseBucket();
  }

  private parseTunable(): TunableNode {
    const keyword = this.next();
    return { kind: 'tunable', keyword, name: this.expectName('tunable name'), value: this.expectMatch(POSINT_RE, 'a non-negative integer') };
  }

  private parseDevice(): DeviceNode {
    const keyword = this.next();
    const id = this.expectMatch(POSINT_RE, 'a device id (non-negative integer)');
    const name = this.expectName('device name');
    const node: DeviceNode = { kind: 'device', keyword, id, name };
    if (this.acceptWord('class')) node.deviceClass = this.expectName('device class name');
    return node;
  }

  private parseType(): TypeNode {
    const keyword = this.next();
    const id = this.expectMatch(POSINT_RE, 'a type id (non-negative integer)');
    return { kind: 'type', keyword, id, name: this.expectName('type name') };
  }

  private parseBucket(): BucketNode {
    const type = this.expectName('bucket type');
    const name = this.expectName('bucket name');
    this.expectPunct('{');
    const ids: BucketIdNode[] = [];
    while (this.isWord('id')) {
      const keyword = this.next();
      const id = this.expectMatch(NEGINT_RE, 'a bucket id (negative integer)');
      const node: BucketIdNode = { keyword, id };
      if (this.acceptWord('class')) node.deviceClass = this.expectName('device class name');
      ids.push(node);
    }
    if (!this.isWord('alg')) throw this.error(this.peek(), `expected 'alg' in bucket '${name.text}', found ${describe(this.peek())}`);
    this.next();
    const alg = this.expectName('bucket algorithm');
    const hashes: Token[] = [];
    while (this.acceptWord('hash')) hashes.push(this.expectMatch(/^(?:-?\d+|rjenkins1)$/, `a hash ('0' or 'rjenkins1')`, false));
    const items: BucketItemNode[] = [];
    while (this.isWord('item')) {
      const keyword = this.next();
      const node: BucketItemNode = { keyword, name: this.expectName('item name') };
      if (this.acceptWord('weight')) node.weight = this.expectMatch(REAL_NUMBER_RE, 'a weight');
      if (this.acceptWord('pos')) node.pos = this.expectMatch(POSINT_RE, 'a position (non-negative integer)');
      items.push(node);
    }
    const close = this.peek();
    if (close.kind !== '}') {
      const expected = items.length > 0 ? `'item' or '}'` : `'hash', 'item' or '}'`;
      throw this.error(close, `unexpected ${describe(close)} in bucket '${name.text}', expected ${expected}`);
    }
    this.next();
    return { kind: 'bucket', type, name, ids, alg, hashes, items };
  }

  private parseRule(): RuleNode {
    const keyword = this.next();
    let name: Token | undefined;
    if (this.peek().kind === 'word') name = this.expectName('rule name');
    this.expectPunct('{');
    const idWord = this.peek();
    if (!this.isWord('id') && !this.isWord('ruleset')) throw this.error(idWord, `expected 'id' or 'ruleset', found ${describe(idWord)}`);
    this.next();
    const id = this.expectMatch(POSINT_RE, 'a rule id (non-negative integer)');
    this.expectWord('type');
    const type = this.expectMatch(/^(?:replicated|erasure|\d+)$/, `a rule type ('replicated', 'erasure' or a number)`, false);
    const node: RuleNode = { kind: 'rule', keyword, id, type, steps: [] };
    if (name) node.name = name;
    if (this.acceptWord('min_size')) node.minSize = this.expectMatch(POSINT_RE, 'a non-negative integer');
    if (this.acceptWord('max_size')) node.maxSize = this.expectMatch(POSINT_RE, 'a non-negative integer');
    while (this.isWord('step')) {
      this.next();
      node.steps.push(this.parseStep());
    }
    const close = this.peek();
    if (close.kind !== '}' || node.steps.length === 0) {
      const expected = node.steps.length === 0 ? `'step'` : `'step' or '}'`;
      throw this.error(close, `unexpected ${describe(close)} in rule, expected ${expected}`);
    }
    this.next();
    return node;
  }

  private parseStep(): StepNode {
    const keyword = this.peek();
    if (keyword.kind !== 'word') throw this.error(keyword, `expected a step, found ${describe(keyword)}`);
    this.next();
    switch (keyword.text) {
      case 'take': {
        const item = this.expectName('bucket name');
        if (this.acceptWord('class')) return { kind: 'take', keyword, item, deviceClass: this.expectName('device class name') };
        return { kind: 'take', keyword, item };
      }
      case 'choose':
      case 'chooseleaf': {
        const mode = this.expectMatch(/^(?:firstn|indep)$/, `'firstn' or 'indep'`, false);
        const num = this.expectMatch(INT_RE, 'a number of replicas (integer)');
        this.expectWord('type');
        return { kind: 'choose', keyword, leaf: keyword.text === 'chooseleaf', mode, num, type: this.expectName('type name') };
      }
      case 'emit':
      case 'noop':
        return { kind: keyword.text, keyword };
    }
    if (SET_STEPS.has(keyword.text)) {
      return { kind: 'set', keyword, name: keyword.text as SetStepName, value: this.expectMatch(POSINT_RE, 'a non-negative integer') };
    }
    throw this.error(keyword, `unknown step '${keyword.text}'`);
  }

  private parseChooseArgs(): ChooseArgsNode {
    const keyword = this.next();
    const index = this.expectMatch(POSINT_RE, 'a choose_args index (unsigned integer)');
    this.expectPunct('{');
    const args: ChooseArgNode[] = [];
    while (this.peek().kind === '{') {
      const open = this.next();
      this.expectWord('bucket_id');
      const node: ChooseArgNode = { open, bucketId: this.expectMatch(NEGINT_RE, 'a bucket id (negative integer)') };
      if (this.isWord('weight_set')) {
        const kw = this.next();
        this.expectPunct('[');
        const rows: Token[][] = [];
        while (this.peek().kind === '[') {
          this.next();
          const row: Token[] = [];
          while (this.peek().kind === 'word') row.push(this.expectMatch(REAL_NUMBER_RE, 'a weight'));
          this.expectPunct(']');
          rows.push(row);
        }
        this.expectPunct(']');
        node.weightSet = { keyword: kw, rows };
      }
      if (this.isWord('ids')) {
        const kw = this.next();
        this.expectPunct('[');
        const values: Token[] = [];
        while (this.peek().kind === 'word') values.push(this.expectMatch(INT_RE, 'an id (integer)'));
        this.expectPunct(']');
        node.ids = { keyword: kw, values };
      }
      this.expectPunct('}');
      args.push(node);
    }
    this.expectPunct('}');
    return { kind: 'choose_args', keyword, index, args };
  }

  // --- token helpers ---

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text === text;
  }

  private acceptWord(text: string): boolean {
    if (!this.isWord(text)) return false;
    this.next();
    return true;
  }

  private expectWord(text: string): Token {
    const t = this.peek();
    if (t.kind !== 'word' || t.text !== text) throw this.error(t, `expected '${text}', found ${describe(t)}`);
    return this.next();
  }

  private expectPunct(kind: '{' | '}' | '[' | ']'): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.error(t, `expected '${kind}', found ${describe(t)}`);
    return this.next();
  }

  private expectName(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'word') throw this.error(t, `expected ${what}, found ${describe(t)}`);
    if (!NAME_RE.test(t.text)) throw this.error(t, `invalid ${what} '${t.text}' (allowed: letters, digits, '-', '_', '.')`);
    return this.next();
  }

  /** A word matching `re`; `numeric` words that do not match are reported as malformed numbers. */
  private expectMatch(re: RegExp, what: string, numeric = true): Token {
    const t = this.peek();
    if (t.kind !== 'word') throw this.error(t, `expected ${what}, found ${describe(t)}`);
    if (!re.test(t.text)) {
      throw this.error(t, numeric ? `malformed number '${t.text}', expected ${what}` : `expected ${what}, found '${t.text}'`);
    }
    return this.next();
  }

  private error(t: Token, detail: string): CrushParseError {
    return new CrushParseError(t.line, t.column, detail);
  }
}
