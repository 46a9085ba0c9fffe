/**
 * The search page of `shnet serve`: one self-contained HTML document (no external scripts, styles or fonts) that
 * calls the JSON API and shows the retrieved images with their scores and captions, the words the model does not
 * know, and the server's message for a bad query.
 */

export interface SearchPageFacts {
  readonly split: string;
  readonly images: number;
  readonly defaultK: number;
  readonly maxK: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function searchPage(facts: SearchPageFacts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shnet search: ${escapeHtml(facts.split)}</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; color: #1d2430; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  form { display: flex; gap: .5rem; margin: 1rem 0; }
  input[type=search] { flex: 1; font-size: 1rem; padding: .45rem .6rem; border: 1px solid #9aa4b2; border-radius: 4px; }
  input[type=number] { width: 4.5rem; font-size: 1rem; padding: .45rem; }
  button { font-size: 1rem; padding: .45rem 1rem; }
  #status { min-height: 1.4em; color: #4a5565; }
  #status.error { color: #b3261e; font-weight: 600; }
  #unknown { color: #8a5300; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 1rem; margin-top: .8rem; }
  figure { margin: 0; border: 1px solid #d5dae1; border-radius: 6px; padding: .5rem; background: #fafbfc; }
  figure img { width: 100%; image-rendering: pixelated; display: block; border-radius: 3px; }
  figcaption { font-size: .85rem; margin-top: .35rem; }
  .score { font-variant-numeric: tabular-nums; color: #4a5565; }
</style>
</head>
<body>
<h1>Search the ${escapeHtml(facts.split)} split</h1>
<div>${facts.images} images. Type a caption; the model's own text encoder turns it into a query.</div>
<form id="search">
  <input type="search" id="text" name="text" placeholder="a small red circle left of a blue square" maxlength="1000" autofocus>
  <input type="number" id="k" name="k" min="1" max="${facts.maxK}" value="${facts.defaultK}" title="results">
  <button type="submit">Search</button>
</form>
<div id="status"></div>
<div id="unknown"></div>
<div id="results"></div>
<script>
const form = document.getElementById('search');
const status = document.getElementById('status');
const unknown = document.getElementById('unknown');
const results = document.getElementById('results');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const params = new URLSearchParams({ text: document.getElementById('text').value, k: document.getElementById('k').value });
  status.className = '';
  status.textContent = 'searching…';
  unknown.textContent = '';
  results.replaceChildren();
  let body;
  try {
    const response = await fetch('/query?' + params.toString());
    body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
  } catch (error) {
    status.className = 'error';
    status.textContent = error.message;
    return;
  }
  status.textContent = body.hits.length + ' images for "' + body.query + '"';
  if (body.unknownWords.length > 0) unknown.textContent = 'not in the vocabulary: ' + body.unknownWords.join(', ');
  for (const hit of body.hits) {
    const figure = document.createElement('figure');
    figure.className = 'hit';
    const img = document.createElement('img');
    img.src = hit.url;
    img.alt = 'image ' + hit.image;
    const caption = document.createElement('figcaption');
    const head = document.createElement('div');
    head.className = 'score';
    head.textContent = '#' + hit.rank + ' image ' + hit.image + ' · score ' + hit.score.toFixed(3);
    const text = document.createElement('div');
    text.textContent = hit.captions[0] || '';
    caption.append(head, text);
    figure.append(img, caption);
    results.append(figure);
  }
});
</script>
</body>
</html>
`;
}
