/**
 * The report as one self-contained HTML page: styles inline, pictures embedded as `data:` URLs, no script — it opens
 * from a file, from the MLflow UI's artifact view, or attached to a message, and looks the same.
 */
import type { CaptionCase, FacetRecall, ImageCase, ReportData } from './report-data';

/** Facts about the run for the page's header. */
export interface ReportAbout {
  readonly title: string;
  readonly description?: string;
  readonly runDir: string | null;
  readonly checkpoint: string;
  readonly epoch: number;
  readonly created: Date;
}

/** Picture of an image as a `data:` URL, or null when the data set has none. */
export type PictureOf = (image: number) => string | null;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

const STYLE = `
  body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430; margin: 0; background: #f4f6f8; }
  main { max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
  h1 { font-size: 1.45rem; margin: .2rem 0; }
  h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid #d5dae1; }
  h3 { font-size: .95rem; margin: 1rem 0 .4rem; color: #3a4454; }
  .meta { color: #4a5565; font-size: .85rem; }
  .lead { max-width: 60rem; color: #3a4454; }
  table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
  th, td { padding: .3rem .7rem; border-bottom: 1px solid #e2e6eb; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  thead th { background: #e9edf2; font-weight: 600; }
  tr.all td { font-weight: 600; }
  .metrics td, .metrics th { min-width: 3.6rem; }
  .facets { display: flex; flex-wrap: wrap; gap: 1.2rem; }
  .case { background: #fff; border: 1px solid #d5dae1; border-radius: 8px; padding: .7rem .8rem; margin: .7rem 0; }
  .query { font-weight: 600; margin-bottom: .45rem; }
  .query .id { font-weight: 400; color: #6a7585; }
  .strip { display: flex; gap: .55rem; flex-wrap: wrap; align-items: flex-start; }
  .shot { width: 112px; font-size: .75rem; color: #4a5565; text-align: center; }
  .shot img, .shot .noimg { width: 104px; height: 104px; image-rendering: pixelated; border: 4px solid #c9ced6; border-radius: 5px; display: block; }
  .shot .noimg { display: flex; align-items: center; justify-content: center; background: #e9edf2; }
  .shot.truth img, .shot.truth .noimg { border-color: #1e8e3e; }
  .shot.truth { color: #1e6b34; font-weight: 600; }
  .shot.missed img, .shot.missed .noimg { border-style: dashed; border-color: #1e8e3e; }
  .sep { width: 1px; align-self: stretch; background: #d5dae1; margin: 0 .3rem; }
  .image-case { display: flex; gap: .9rem; align-items: flex-start; }
  ol.captions { margin: 0; padding-left: 1.4rem; }
  ol.captions li { margin: .1rem 0; }
  ol.captions li.own { color: #1e6b34; font-weight: 600; }
  ol.captions li.own::after { content: ' ✓'; }
  .score { color: #6a7585; font-variant-numeric: tabular-nums; font-weight: 400; }
  .rank { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #e9edf2; font-weight: 600; }
  .rank.hit { background: #d6f0dc; color: #1e6b34; }
  .rank.miss { background: #fbe0de; color: #9c1c14; }
  .legend { font-size: .8rem; color: #4a5565; }
  .legend .sw { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; border: 3px solid #1e8e3e; border-radius: 3px; margin-right: .2rem; }
  .legend .sw.dashed { border-style: dashed; }
`;

export function reportHtml(data: ReportData, about: ReportAbout, pictureOf: PictureOf): string {
  const m = data.metrics;
  const body = [
    `<h1>${escapeHtml(about.title)}</h1>`,
    about.description ? `<div class="lead">${escapeHtml(about.description)}</div>` : '',
    `<div class="meta">split <b>${escapeHtml(data.split)}</b> · ${data.numImages} images, ${5 * data.numImages} captions · weights ${escapeHtml(about.checkpoint)} (epoch ${about.epoch})${about.runDir ? ` · run ${escapeHtml(about.runDir)}` : ''} · made ${about.created.toISOString().slice(0, 16).replace('T', ' ')} UTC</div>`,
    '<h2>Recall</h2>',
    `<p class="lead">Ranks against every image of the split (protocol <code>all</code>). Image → text: the best-placed of an image's five captions; text → image: each caption's own image.</p>`,
    metricsTable(m),
    '<h2>Recall by caption type (text → image)</h2>',
    `<p class="lead">Each caption's own image ranked among all ${data.numImages}, grouped by what the caption states and what its image holds. Compare these tables between runs — a model without spatial highlighting against one with it — to see where the highlighting modules help.</p>`,
    `<div class="facets">${data.facets.map(facetTable).join('')}</div>`,
    '<h2>Text → image: sampled captions</h2>',
    legend(),
    data.sampledCaptions.map((c) => captionCase(c, pictureOf)).join(''),
    '<h2>Image → text: sampled images</h2>',
    `<p class="legend">The five best captions for each image; its own captions are marked ✓.</p>`,
    data.sampledImages.map((c) => imageCase(c, pictureOf)).join(''),
    '<h2>Worst failures</h2>',
    '<h3>Captions whose image ranked lowest</h3>',
    data.worstCaptions.length ? data.worstCaptions.map((c) => captionCase(c, pictureOf)).join('') : '<p>None: every caption found its image first.</p>',
    '<h3>Images whose captions ranked lowest</h3>',
    data.worstImages.length ? data.worstImages.map((c) => imageCase(c, pictureOf)).join('') : '<p>None: every image found one of its captions first.</p>',
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(about.title)}: retrieval report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.filter((part) => part !== '').join('\n')}
</main>
</body>
</html>
`;
}

function metricsTable(m: Readonly<Record<string, number>>): string {
  const row = (name: string, key: string) =>
    `<tr><td>${name}</td>${['R1', 'R5', 'R10'].map((r) => `<td>${fmt(m[`${key}/${r}`])}</td>`).join('')}<td>${fmt(m[`${key}/medr`], 0)}</td></tr>`;
  return `<table class="metrics"><thead><tr><th></th><th>R@1</th><th>R@5</th><th>R@10</th><th>medr</th></tr></thead><tbody>${row('image → text', 'i2t')}${row('text → image', 't2i')}<tr class="all"><td>rSum</td><td colspan="4">${fmt(m.rsum)}</td></tr></tbody></table>`;
}

function facetTable(facet: FacetRecall): string {
  const rows = facet.groups
    .map(
      (g) =>
        `<tr><td>${escapeHtml(g.label)}</td><td>${g.captions}</td><td>${fmt(g.r1)}</td><td>${fmt(g.r5)}</td><td>${fmt(g.r10)}</td><td>${fmt(g.medr, 0)}</td></tr>`,
    )
    .join('');
  return `<div><h3>${escapeHtml(facet.name)}</h3><table><thead><tr><th></th><th>captions</th><th>R@1</th><th>R@5</th><th>R@10</th><th>medr</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function legend(): string {
  return `<p class="legend">The five best images for each caption, best first. <span class="sw"></span> the caption's own image; <span class="sw dashed"></span> its own image when it is not among the five (with its rank).</p>`;
}

function rankBadge(rank: number): string {
  return `<span class="rank ${rank === 1 ? 'hit' : rank <= 5 ? '' : 'miss'}">rank ${rank}</span>`;
}

function shot(image: number, pictureOf: PictureOf, classes: string, label: string): string {
  const url = pictureOf(image);
  const picture = url ? `<img src="${url}" alt="image ${image}">` : `<div class="noimg">#${image}</div>`;
  return `<div class="shot ${classes}">${picture}${label}</div>`;
}

function captionCase(c: CaptionCase, pictureOf: PictureOf): string {
  const found = c.top.some((t) => t.image === c.image);
  const shots = c.top.map((t) => shot(t.image, pictureOf, t.image === c.image ? 'truth' : '', `#${t.image} · ${t.score.toFixed(3)}`)).join('');
  const missed = found ? '' : `<div class="sep"></div>${shot(c.image, pictureOf, 'missed truth', `#${c.image} · rank ${c.rank}`)}`;
  return `<div class="case"><div class="query">“${escapeHtml(c.text)}” <span class="id">caption ${c.caption} of image ${c.image}</span> ${rankBadge(c.rank)}</div><div class="strip">${shots}${missed}</div></div>`;
}

function imageCase(c: ImageCase, pictureOf: PictureOf): string {
  const items = c.top
    .map(
      (t) =>
        `<li class="${t.own ? 'own' : ''}">${escapeHtml(t.text)} <span class="score">${t.score.toFixed(3)}${t.own ? '' : ` · of image ${Math.floor(t.caption / 5)}`}</span></li>`,
    )
    .join('');
  const owns = c.top.some((t) => t.own) ? '' : `<div class="legend">its own captions: ${c.ownCaptions.map((t) => `“${escapeHtml(t)}”`).join(' · ')}</div>`;
  return `<div class="case image-case">${shot(c.image, pictureOf, 'truth', `#${c.image}`)}<div><div class="query">image ${c.image} ${rankBadge(c.rank)}</div><ol class="captions">${items}</ol>${owns}</div></div>`;
}
