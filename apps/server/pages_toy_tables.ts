/**
 * The tables of the ground-truth page (`pages_toy.ts`): per kind, the member chosen without ground truth
 * against the best; every member with its chance levels, its MMCS between sizes and its larger dictionary's
 * live latents; and the comparison-only partner dictionaries, which are never candidates of the choice.
 *
 * @module
 */
import { raw } from "hono/html";
import { type Html, markup, toyChoiceRuleText, toyLargerAliveText } from "@saelab/report";
import { TOY_RECOVERED, type ToyChance, type ToyJson, type ToyJsonKind, type ToyJsonMember } from "@saelab/runs";

/** `x` with `digits` decimals, `–` when it is not a finite number. */
export const fixed = (x: number | null | undefined, digits = 3): string =>
  typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
const alpha = (x: number) => (x === 0 ? "0" : x.toExponential(1));

/**
 * The cells every dictionary of the toy has measured, a member or a partner: kind, R, α, L0, dead fraction and
 * MMCS with the truth beside its chance level.
 */
function measuredCells(
  m: Pick<ToyJsonMember, "kind" | "ratio" | "l1" | "l0" | "deadFraction" | "mmcsTruth">,
  chance?: number,
) {
  return markup`
        <td>${m.kind}</td>
        <td class="num">${m.ratio}</td>
        <td class="num">${alpha(m.l1)}</td>
        <td class="num">${fixed(m.l0, 2)}</td>
        <td class="num">${fixed(100 * m.deadFraction, 1)}%</td>
        <td class="num">${fixed(m.mmcsTruth)}</td>
        <td class="num muted">${fixed(chance)}</td>`;
}

/** The header cells of {@linkcode measuredCells}. */
const MEASURED_HEAD = markup`
            <th>kind</th>
            <th class="num">R</th>
            <th class="num">α</th>
            <th class="num">L0</th>
            <th class="num">dead</th>
            <th class="num" title="mean over the true features of the best cosine with a learned feature">MMCS truth</th>
            <th class="num" title="the same for random unit vectors of the same sizes">chance</th>`;

/** The chance level of `list` at `ratio`, if it has one. */
export const chanceAt = (list: readonly ToyChance[] | undefined, ratio: number): number | undefined =>
  list?.find((c) => c.ratio === ratio)?.value;

/**
 * Per kind: its member chosen without ground truth against its best one (absent in older `toy.json`).
 *
 * @param toy `toy.json`.
 * @returns A card, or nothing when the file has no `kinds`.
 * @example
 * ```ts
 * import { kindsHtml } from "./pages_toy_tables.ts";
 * const m = { name: "a", kind: "untied", ratio: 1, l1: 0, l0: 5, deadFraction: 0, mmcsTruth: 0.9, mmcsBetween: null };
 * if (kindsHtml({ members: [m], chosen: "a" }) !== "") throw new Error("older files: no card");
 * ```
 */
export function kindsHtml(toy: ToyJson): Html | "" {
  if (!toy.kinds || toy.kinds.length === 0) return "";
  const row = (k: ToyJsonKind) =>
    markup`
      <tr>
        <td>${k.kind}</td>
        <td><code>${k.chosen}</code></td>
        <td class="num">${fixed(k.chosenMmcsTruth)}</td>
        <td class="num muted">${fixed(k.chance)}</td>
        <td><code>${k.best}</code></td>
        <td class="num">${fixed(k.bestMmcsTruth)}</td>
        <td>${k.recovered ? "recovered" : "not recovered"}; ${k.pickedWell ? "picked well" : "picked poorly"}</td>
      </tr>
    `;
  return markup`
    <section class="card"><h2>Per kind</h2>
      <p class="lead">The choice rule run over each kind's members alone, against that kind's best member by the
      ground truth. Recovered: MMCS with the truth ≥ ${TOY_RECOVERED}.</p>
      <div class="table-wrap">
        <table class="data toy-kinds">
          <thead>
            <tr>
              <th>kind</th>
              <th>chosen without ground truth</th>
              <th class="num">MMCS truth</th>
              <th class="num" title="the same for random unit vectors of the same sizes">chance</th>
              <th>best by the ground truth</th>
              <th class="num">MMCS truth</th>
              <th>verdict</th>
            </tr>
          </thead>
          <tbody>${toy.kinds.map(row)}</tbody>
        </table>
      </div>
    </section>
  `;
}

/**
 * Every member: R, α, L0, dead fraction, MMCS with the truth and between sizes (over all the larger dictionary's
 * latents and over its live ones) with their chance levels, and the larger dictionary's live latents against
 * this member's size; the chosen member tagged; then the choice rule.
 *
 * @param toy `toy.json`.
 * @returns The table and the rule.
 * @example
 * ```ts
 * import { membersHtml } from "./pages_toy_tables.ts";
 * const m = { kind: "untied", l1: 0, l0: 5, deadFraction: 0.4, mmcsTruth: 0.9, mmcsBetween: 0.8, largerAlive: 30 };
 * const html = await membersHtml({ members: [{ ...m, name: "a", ratio: 1 }], chosen: "a", toy: { d: 32 } });
 * if (!html.includes("30/32")) throw new Error(html);
 * ```
 */
export function membersHtml(toy: ToyJson): Html {
  const row = (m: ToyJsonMember) =>
    markup`
      <tr${m.name === toy.chosen ? raw(` class="chosen"`) : ""}>
        <td><code>${m.name}</code>${
      m.name === toy.chosen
        ? markup`
            <span class="tag">chosen</span>
          `
        : ""
    }</td>${measuredCells(m, chanceAt(toy.truthChance, m.ratio))}
        <td class="num">${fixed(m.mmcsBetween)}</td>
        <td class="num muted">${m.mmcsBetween === null ? "–" : fixed(chanceAt(toy.betweenChance, m.ratio))}</td>
        <td class="num">${fixed(m.mmcsBetweenAlive)}</td>
        <td class="num">${toyLargerAliveText(toy, m)}</td>
      </tr>
    `;
  const rule = toyChoiceRuleText(toy.choose, {
    spareRecorded: toy.members.some((m) => typeof m.largerAlive === "number"),
  });
  return markup`
    <div class="table-wrap">
      <table class="data toy">
        <thead>
          <tr>
            <th>member</th>${MEASURED_HEAD}
            <th class="num"
              title="mean over the next-larger dictionary (same kind and α) of the best cosine">MMCS between</th>
            <th class="num" title="the same for random unit vectors of the same sizes">chance</th>
            <th class="num"
              title="the same mean over the next-larger dictionary's live latents only">between, live</th>
            <th class="num" title="latents of the next-larger dictionary (or partner) that fire on the held-out rows, over this member's latents: its dead latents are spare when the first is at most the second">larger live / size</th>
          </tr>
        </thead>
        <tbody>${toy.members.map(row)}</tbody>
      </table>
    </div>
    ${rule === null ? "" : markup`<p class="muted">${rule}</p>`}
  `;
}

/**
 * The comparison-only partner dictionaries (`training.partner`): their ratio, and per kind and α the partner's
 * L0, dead fraction and MMCS with the truth and its chance level (`–` in files that do not record it) beside the
 * largest member it was compared with. Said plainly when
 * none were trained, and when the file (older) does not record them.
 *
 * @param toy `toy.json`.
 * @returns A card, or one line.
 * @example
 * ```ts
 * import { partnerHtml } from "./pages_toy_tables.ts";
 * const m = { name: "a", kind: "untied", ratio: 1, l1: 0, l0: 5, deadFraction: 0, mmcsTruth: 0.9, mmcsBetween: null };
 * if (!(await partnerHtml({ members: [m], chosen: "a" })).includes("not recorded")) throw new Error();
 * ```
 */
export function partnerHtml(toy: ToyJson): Html {
  const partner = toy.training?.partner;
  if (partner === undefined) {
    return markup`<p class="muted">Comparison-only partner dictionaries: not recorded in this toy.json.</p>`;
  }
  if (partner === null) {
    return markup`<p class="muted">No comparison-only partner dictionaries were trained (--partner-ratio 0): the
largest members have no larger dictionary to compare with, so none of them can be chosen.</p>`;
  }
  const largestOf = (p: { kind: string; l1: number }) =>
    toy.members.filter((m) => m.kind === p.kind && m.l1 === p.l1).reduce<ToyJsonMember | undefined>(
      (a, m) => (a === undefined || m.ratio > a.ratio ? m : a),
      undefined,
    );
  const row = (p: (typeof partner.members)[number]) => {
    const with_ = largestOf(p);
    return markup`
      <tr>
        <td><code>${p.name}</code></td>${measuredCells(p, partner.truthChance)}
        <td>${with_ ? markup`<code>${with_.name}</code>` : "–"}</td>
      </tr>
    `;
  };
  return markup`
    <section class="card"><h2>Partners (comparison only)</h2>
      <p class="lead">One dictionary per kind and α at R ${partner.ratio}, trained with the members only as the
      largest member's next-larger dictionary: it gives that member its MMCS between sizes and its larger live.
      A partner is a comparison only, not a candidate: the choice never picks one, and reads none of the numbers
      in this table.</p>
      <div class="table-wrap">
        <table class="data toy-partner">
          <thead>
            <tr>
              <th>partner</th>${MEASURED_HEAD}
              <th>compared with</th>
            </tr>
          </thead>
          <tbody>${partner.members.map(row)}</tbody>
        </table>
      </div>
    </section>
  `;
}
