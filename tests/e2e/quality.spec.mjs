// Quality of every main screen: an axe-core accessibility check (no serious or critical
// violations, light and dark), screenshots at phone and desktop widths in both color schemes for a
// person to look at, keyboard use, inert user text (XSS payloads), and no layout jump when tallies
// change. Screenshots go to test-results/screens/ (printed at the end of the run).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, openMoreOptions, createPoll, joinByLink } from './app.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SCREENS_DIR = path.resolve('test-results/screens');
const SIZES = [
  { name: 'small', width: 360, height: 740 },
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 860 },
];
const SCHEMES = ['light', 'dark'];
const axeReport = {};

/** Runs axe on the page as it is; returns the serious and critical violations. */
async function seriousViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/**
 * Checks one screen: for each color scheme, axe finds no serious/critical violation; for each
 * size and scheme, a full-page screenshot is saved. `ready` waits until the screen is settled.
 */
async function checkScreen(page, screen, ready) {
  mkdirSync(SCREENS_DIR, { recursive: true });
  const found = {};
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await ready();
      await page.screenshot({ path: path.join(SCREENS_DIR, `${screen}-${size.name}-${scheme}.png`), fullPage: true });
    }
    found[scheme] = await seriousViolations(page);
  }
  axeReport[screen] = {
    light: found.light.length,
    dark: found.dark.length,
  };
  expect(found, `axe serious/critical violations on ${screen}`).toEqual({ light: [], dark: [] });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 860 });
}

test.afterAll(() => {
  mkdirSync(SCREENS_DIR, { recursive: true });
  writeFileSync(path.join(SCREENS_DIR, 'axe.json'), JSON.stringify(axeReport, null, 2));
  console.log(`screenshots and axe results (serious+critical per screen): ${SCREENS_DIR}`);
  console.log(JSON.stringify(axeReport));
});

test('every main screen passes axe (no serious or critical) and is photographed at phone and desktop, light and dark', async ({ newUser }) => {
  const fresh = await openUser(newUser, 'Fay');
  await checkScreen(fresh, 'home-empty', () => expect(fresh.getByTestId('my-polls-empty')).toBeVisible());

  const owner = await openUser(newUser, 'Olive');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Team lunch on Friday');
  await checkScreen(owner, 'new-poll', () => expect(owner.getByTestId('poll-create')).toBeVisible());
  await openMoreOptions(owner);
  await checkScreen(owner, 'new-poll-more', () => expect(owner.getByTestId('poll-adders')).toBeVisible());
  await owner.goto(appUrl('/'));
  const { link, ownerId } = await createPoll(owner, {
    title: 'Team lunch on Friday',
    options: ['Pizza', 'Sushi', 'Tacos from the corner place'],
    listed: true,
  });
  await owner.getByTestId('vote-option-1').click();
  await expect(owner.getByTestId('tally-1')).toHaveText('1');

  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await ann.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);

  await checkScreen(owner, 'poll-owner', () => expect(owner.getByTestId('participant-count')).toHaveText('1'));
  await checkScreen(ann, 'poll-participant', () => expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected'));
  await owner.goto(appUrl('/'));
  await checkScreen(owner, 'home', () => expect(owner.getByTestId('poll-list-item')).toHaveCount(1));
  await ann.goto(appUrl('/'));
  await checkScreen(ann, 'home-joined', () => expect(ann.getByTestId('poll-list-owner')).toHaveText('owner online'));
  await ann.goto(appUrl(`/o/${ownerId}`));
  await checkScreen(ann, 'owner-polls', () => expect(ann.getByTestId('poll-list-item')).toHaveCount(1));
  await ann.goto(appUrl('/settings'));
  await checkScreen(ann, 'settings', () => expect(ann.getByTestId('settings-save')).toBeVisible());
  await ann.goto(appUrl('/verify'));
  await checkScreen(ann, 'verify', () => expect(ann.getByTestId('verify-file')).toBeVisible());
  // The owner's page with the edit form and the delete confirmation open.
  await owner.goto(link.replace(/^https?:\/\/[^/]+/, ''));
  await owner.getByTestId('edit-open').click();
  await owner.getByTestId('edit-options').locator('summary').click();
  await owner.getByTestId('poll-delete').click();
  await checkScreen(owner, 'poll-owner-manage', () => expect(owner.getByTestId('poll-delete-confirm')).toBeVisible());
  // A second tab of the owner's browser: the banner and the polls, read-only.
  const second = await owner.context().newPage();
  await second.goto(appUrl('/'));
  await checkScreen(second, 'home-other-tab', () => expect(second.getByTestId('poll-list-item')).toHaveCount(1));
  await second.close();
});

test('user text is rendered as text: script, img onerror and svg onload payloads stay inert', async ({ newUser }) => {
  const payloads = {
    title: '<script>window.__xss = "title"</script>Lunch',
    option: '<img src=x onerror="window.__xss = \'option\'">',
    name: '<svg onload="window.__xss = \'name\'"></svg>Eve',
  };
  const owner = await openUser(newUser, payloads.name);
  const { link } = await createPoll(owner, { title: payloads.title, options: [payloads.option, 'Plain'] });
  const ann = await openUser(newUser, '"><b>Ann</b>');
  await joinByLink(ann, link);
  await ann.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  for (const page of [owner, ann]) {
    await expect(page.getByTestId('poll-heading')).toHaveText(payloads.title);
    await expect(page.getByTestId('vote-option-0')).toContainText(payloads.option);
    await expect(page.getByTestId('members-list')).toContainText('<svg onload=');
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    // No element was made from user text.
    expect(await page.locator('[data-testid="poll-page"] script, [data-testid="poll-page"] img, [data-testid="poll-page"] b').count()).toBe(0);
  }
  await owner.goto(appUrl('/'));
  await expect(owner.getByTestId('poll-list-item')).toContainText(payloads.title);
  expect(await owner.evaluate(() => window.__xss)).toBeUndefined();
});

test('keyboard alone creates a poll and votes', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Kim');
  await owner.getByRole('link', { name: 'New poll' }).focus();
  await owner.keyboard.press('Enter');
  await expect(owner.getByTestId('poll-title')).toBeVisible();
  await owner.getByTestId('poll-title').focus();
  await owner.keyboard.type('Keyboard poll');
  await owner.keyboard.press('Tab'); // details
  await owner.keyboard.press('Tab'); // kind of poll (single choice)
  await owner.keyboard.press('Tab'); // option 1
  await owner.keyboard.type('Yes');
  await owner.keyboard.press('Tab');
  await owner.keyboard.type('No');
  await owner.getByTestId('poll-title').focus();
  await owner.keyboard.press('Enter'); // submits the form
  await expect(owner.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await owner.getByTestId('vote-option-1').focus();
  await owner.keyboard.press('Space');
  await expect(owner.getByTestId('tally-1')).toHaveText('1');
  await expect(owner.getByTestId('vote-option-1')).toHaveAttribute('aria-pressed', 'true');
});

test('tallies update without moving the options', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  const { link } = await createPoll(owner, { title: 'Layout', options: ['A', 'B', 'C'] });
  const rows = async () =>
    owner.locator('.options > li').evaluateAll((els) => els.map((el) => {
      const r = el.getBoundingClientRect();
      return [Math.round(r.top), Math.round(r.height), Math.round(r.width)];
    }));
  const before = await rows();
  const voters = [];
  for (const name of ['Ann', 'Bob']) {
    const page = await openUser(newUser, name);
    await joinByLink(page, link);
    voters.push(page);
  }
  await voters[0].getByTestId('vote-option-2').click();
  await expect(owner.getByTestId('tally-2')).toHaveText('1');
  expect(await rows()).toEqual(before);
  await voters[1].getByTestId('vote-option-2').click();
  await expect(owner.getByTestId('tally-2')).toHaveText('2');
  expect(await rows()).toEqual(before);
});
