// The layout rules every page view of the browser suite is held to
// (tests/browser/layout.py runs this after each load and each htmx swap).
// Returns a list of {rule, element}: empty when the page looks as a page
// should. Each rule is a thing a person would see at once and a test of the
// DOM alone would not:
//   one site header, one <main>, one <h1>: a page swapped inside a page;
//   no sideways scrolling at the screen's width;
//   no squeezed choice: a checkbox or radio whose label (over 60 characters)
//     is narrower than half its fieldset;
//   no two interactive elements overlapping;
//   every interactive element at least 24 x 24 CSS px (WCAG 2.2, 2.5.8),
//     but a link inside a sentence (the rule's own exception).
() => {
  const failures = [];
  const fail = (rule, element) => failures.push({rule, element});
  const INTERACTIVE = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';

  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    else if (el.getAttribute('data-testid')) name += `[data-testid="${el.getAttribute('data-testid')}"]`;
    else if (el.getAttribute('name')) name += `[name="${el.getAttribute('name')}"]`;
    // A choice is named by its label; another input by what it holds.
    const choice = el.type === 'checkbox' || el.type === 'radio';
    const own = choice ? (el.labels && el.labels[0] ? el.labels[0].innerText : '') : (el.innerText || el.value);
    const text = (own || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ');
    return text ? `${name} "${text.slice(0, 60)}"` : name;
  };
  // Shown to a person: laid out, not hidden, not clipped to a pixel for
  // screen readers (.visually-hidden), not parked off the screen (the skip link).
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom + window.scrollY <= 0) return false;
    // checkVisibility: false inside a closed <details> too, whose content
    // Chromium lays out but does not paint.
    return el.checkVisibility({visibilityProperty: true}) && !el.closest('.visually-hidden');
  };

  // 1. One page, not a page inside a page.
  for (const [selector, what] of [['header.site-header', 'site header'], ['main', '<main>'], ['h1', '<h1>']]) {
    const found = [...document.querySelectorAll(selector)];
    if (found.length !== 1) fail(`exactly one ${what}`, `${found.length} found${found.length ? ': ' + found.map(describe).join(', ') : ''}`);
  }

  // 2. Nothing scrolls sideways.
  const viewport = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > viewport) {
    const wide = [...document.body.querySelectorAll('*')].filter(
      (el) => el.getBoundingClientRect().right > viewport + 1 && !el.closest('.visually-hidden'));
    // The innermost one is what sticks out; its ancestors only hold it.
    const culprit = wide.find((el) => !wide.some((other) => other !== el && el.contains(other))) || document.body;
    fail('no horizontal scrolling', `${document.documentElement.scrollWidth} px wide on a ${viewport} px screen, ` +
         `widest: ${describe(culprit)} (right edge ${Math.round(culprit.getBoundingClientRect().right)} px)`);
  }

  // 3. No squeezed choices.
  for (const input of document.querySelectorAll('input[type="checkbox"], input[type="radio"]')) {
    const label = input.labels && input.labels[0];
    const box = input.closest('fieldset') || input.form;
    if (!label || !box || !shown(label)) continue;
    const text = label.innerText.trim();
    const width = label.getBoundingClientRect().width, room = box.getBoundingClientRect().width;
    if (text.length > 60 && width < room / 2) {
      fail('no squeezed label', `label of ${describe(input)}... is ${Math.round(width)} px wide in a ${Math.round(room)} px ${box.tagName.toLowerCase()}`);
    }
  }

  const targets = [...document.querySelectorAll(INTERACTIVE)].filter(shown);

  // 4. No two interactive elements overlap (each line of a wrapped link apart).
  const boxes = targets.map((el) => [...el.getClientRects()]);
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = targets[i], b = targets[j];
      if (a.contains(b) || b.contains(a)) continue;
      const overlap = boxes[i].some((p) => boxes[j].some((q) =>
        Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1 &&
        Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1));
      if (overlap) fail('no overlapping controls', `${describe(a)} overlaps ${describe(b)}`);
    }
  }

  // 5. Targets of 24 x 24 CSS px at least, but links inside a sentence.
  const inSentence = (el) => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    const block = el.parentElement.closest('p, li, td, dd, div, label, legend, span');
    return block && block.innerText.trim().length > el.innerText.trim().length + 1;
  };
  for (const el of targets) {
    const r = el.getBoundingClientRect();
    if ((r.width < 23.5 || r.height < 23.5) && !inSentence(el)) {
      fail('targets at least 24 x 24 px', `${describe(el)} is ${r.width.toFixed(1)} x ${r.height.toFixed(1)} px`);
    }
  }
  return failures;
}
