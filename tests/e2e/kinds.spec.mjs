// Date/time and ranked-choice polls: the owner picks the kind in the new-poll form (poll-kind),
// enters slots with date and time inputs (slot-date-N, slot-start-N, slot-end-N); two
// participants and the owner answer every slot yes / if need be / no (slot-N-yes|maybe|no,
// vote-submit) and everyone converges on the counts (slot-N-counts) and the best slot
// (best-slot-text). In a ranked poll everyone orders the options with up/down buttons
// (rank-N-up/down, by mouse and by keyboard) and everyone converges on the same instant-runoff
// rounds (irv-round-K) and winner (irv-winner-text). Screenshots at 390 and 1280 px, light and
// dark, go to test-results/screens/kinds-*.png.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, joinByLink } from './app.mjs';

/** Clicks `testid` and returns the downloaded file's text. */
async function download(page, testid) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return readFile(await file.path(), 'utf8');
}

/** The results table of a downloaded CSV file (after its BOM, poll and export-time rows). */
async function csvTable(page, title) {
  const text = await download(page, 'export-csv');
  const [head, table] = [text.slice(0, text.indexOf('\r\n\r\n') + 4), text.slice(text.indexOf('\r\n\r\n') + 4)];
  expect(head).toMatch(new RegExp(`^\uFEFFPoll,${title}\r\nExported,\\d{4}-\\d\\d-\\d\\dT[\\d:]{8}Z\r\n\r\n$`));
  return table;
}

/** Checks a snapshot file on /verify in a fresh, offline browser; returns that page. */
async function verifyOffline(newUser, text) {
  const checker = await (await newUser()).newPage();
  await checker.goto(appUrl('/verify'));
  await expect(checker.getByTestId('verify-file')).toBeVisible();
  await checker.context().setOffline(true);
  await checker.getByTestId('verify-file').setInputFiles({ name: 'snapshot.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  await expect(checker.getByTestId('verify-result')).toHaveAttribute('data-state', 'valid');
  return checker;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is. */
async function seriousViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Screenshots at 390 and 1280 px, light and dark; axe finds nothing serious in either scheme. */
async function screens(prefix, pages) {
  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    for (const scheme of ['light', 'dark']) {
      for (const [who, page] of pages) {
        await page.setViewportSize({ width, height });
        await page.emulateMedia({ colorScheme: scheme });
        await page.screenshot({ path: `test-results/screens/kinds-${prefix}-${who}-${name}-${scheme}.png`, fullPage: true });
        if (name === 'phone') expect(await seriousViolations(page), `${prefix} ${who} ${scheme}`).toEqual([]);
      }
    }
  }
}

/** Opens the new-poll form with `kind` chosen and `title` filled in. */
async function startPoll(page, kind, title) {
  await page.getByTestId('new-poll').click();
  await page.getByTestId('poll-title').fill(title);
  await page.getByTestId('poll-kind').selectOption(kind);
}

/** Creates the poll from the filled form; returns its invite link. */
async function create(page, title) {
  await page.getByTestId('poll-create').click();
  await expect(page.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await expect(page.getByTestId('poll-heading')).toHaveText(title);
  return page.getByTestId('share-link').inputValue();
}

async function answer(page, answers) {
  for (const [i, a] of answers.entries()) {
    await page.getByTestId(`slot-${i}-${a}`).click();
    await expect(page.getByTestId(`slot-${i}-${a}`)).toHaveAttribute('aria-pressed', 'true');
  }
  await page.getByTestId('vote-submit').click();
}

test('a date/time poll: slots in time order, yes / if need be / no, and everyone sees the best slot', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await startPoll(owner, 'schedule', 'Team dinner?');
  // Entered out of order; the poll lists them by date and time.
  await owner.getByTestId('slot-date-0').fill('2026-12-11');
  await owner.getByTestId('slot-start-0').fill('19:00');
  await owner.getByTestId('slot-end-0').fill('21:00');
  await owner.getByTestId('slot-date-1').fill('2026-12-10');
  await owner.getByTestId('slot-start-1').fill('18:00');
  await owner.getByTestId('poll-add-option').click();
  // A new row starts on the last row's date.
  await expect(owner.getByTestId('slot-date-2')).toHaveValue('2026-12-10');
  await owner.getByTestId('slot-date-2').fill('2026-12-12');
  // An end before the start is refused next to its row.
  await owner.getByTestId('poll-add-option').click();
  await owner.getByTestId('slot-start-3').fill('20:00');
  await owner.getByTestId('slot-end-3').fill('19:00');
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-option-3-error')).toHaveText('The end must come after the start.');
  await owner.getByTestId('poll-remove-option-3').click();
  await screens('schedule-form', [['owner', owner]]);
  const link = await create(owner, 'Team dinner?');
  const slotTexts = ['Thu 2026-12-10 18:00', 'Fri 2026-12-11 19:00–21:00', 'Sat 2026-12-12'];
  for (const [i, text] of slotTexts.entries()) {
    await expect(owner.getByTestId(`slot-${i}`).locator('.text')).toHaveText(text);
  }

  const ann = await openUser(newUser, 'Ann');
  const bob = await openUser(newUser, 'Bob');
  await joinByLink(ann, link);
  await joinByLink(bob, link);
  const everyone = [owner, ann, bob];
  await Promise.all(everyone.map((p) => expect(p.getByTestId('best-slot')).toHaveText('No slot suits anyone yet.')));

  await answer(ann, ['yes', 'maybe', 'no']);
  await answer(bob, ['no', 'yes', 'yes']);
  await answer(owner, ['maybe', 'yes', 'no']);
  // Friday: 2 yes + 1 if need be beats Thursday (1 + 1) and Saturday (1 + 0).
  const counts = [['✓ 1', '~ 1', '✗ 1'], ['✓ 2', '~ 1', '✗ 0'], ['✓ 1', '~ 0', '✗ 2']];
  await Promise.all(
    everyone.flatMap((p) => [
      expect(p.getByTestId('best-slot-text')).toHaveText(slotTexts[1]),
      expect(p.getByTestId('best-slot')).toContainText('2 yes, 1 if need be'),
      ...counts.map((c, i) => expect(p.getByTestId(`slot-${i}-counts`).locator('.count')).toHaveText(c)),
    ]),
  );
  // Each voter sees their own saved answers; the names are listed per slot.
  await expect(ann.getByTestId('my-answer-1')).toHaveText('you: if need be');
  await expect(bob.getByTestId('slot-2-yes')).toHaveAttribute('aria-pressed', 'true');
  await expect(owner.getByTestId('slot-voters-1')).toHaveText('Yes: Bob, Olga · If need be: Ann');
  await Promise.all(everyone.map((p) => expect(p.getByTestId('pending-badge')).toHaveCount(0)));

  // Ann changes her mind: Saturday yes, Thursday no. Saturday has 2 yes now, but Friday still has
  // the most yes + if need be.
  await answer(ann, ['no', 'maybe', 'yes']);
  await Promise.all(everyone.map((p) => expect(p.getByTestId('slot-2-counts').locator('.count')).toHaveText(['✓ 2', '~ 0', '✗ 1'])));
  await Promise.all(everyone.map((p) => expect(p.getByTestId('best-slot-text')).toHaveText(slotTexts[1])));
  await expect(owner.getByTestId('slot-0-counts').locator('.count')).toHaveText(['✓ 0', '~ 1', '✗ 2']);

  // The owner adds a slot after the votes, with the same date and time inputs; it shows for
  // everyone, unanswered, and Ann's saved answers keep their meaning.
  await owner.getByTestId('add-slot-date').fill('2026-12-13');
  await owner.getByTestId('add-slot-start').fill('12:00');
  await expect(owner.getByTestId('add-slot-preview')).toHaveText('Adds “Sun 2026-12-13 12:00” (at the end of the list).');
  await owner.getByTestId('add-option-submit').click();
  await Promise.all(
    everyone.map((p) => expect(p.getByTestId('slot-3').locator('.text')).toHaveText('Sun 2026-12-13 12:00')),
  );
  await expect(ann.getByTestId('slot-3-counts').locator('.count')).toHaveText(['✓ 0', '~ 0', '✗ 0']);
  await expect(ann.getByTestId('vote-hint')).toHaveText('1 slot not answered.');
  await expect(ann.getByTestId('my-answer-2')).toHaveText('you: yes');

  // The CSV: counts per slot with the best one marked, then every voter's answers.
  const csv = await csvTable(ann, 'Team dinner\\?');
  expect(csv.split('\r\n').slice(0, 6)).toEqual([
    'Slot,Yes,If need be,No,Best',
    'Thu 2026-12-10 18:00,0,1,2,',
    'Fri 2026-12-11 19:00–21:00,2,1,0,best',
    'Sat 2026-12-12,2,0,1,',
    'Sun 2026-12-13 12:00,0,0,0,',
    '',
  ]);
  expect(csv).toContain('Ann,no,if need be,yes,\r\n');
  // The signed snapshot proves every answer and verifies offline.
  const snapshot = await download(owner, 'export-snapshot');
  const checker = await verifyOffline(newUser, snapshot);
  await expect(checker.getByTestId('verify-result')).toContainText('all 3 ballot signature(s)');
  await expect(checker.getByTestId('verified-summary')).toHaveText('Best slot (most yes + if need be): Fri 2026-12-11 19:00–21:00');

  await owner.getByTestId('voters').locator('summary').click();
  await screens('schedule', [['participant', ann], ['owner', owner]]);
});

test('a ranked poll: rankings by buttons and keyboard, and everyone sees the same runoff rounds and winner', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await startPoll(owner, 'ranked', 'Lunch, ranked?');
  await owner.getByTestId('poll-add-option').click();
  await owner.getByTestId('poll-add-option').click();
  for (const [i, text] of ['Pizza', 'Sushi', 'Tacos', 'Curry'].entries()) {
    await owner.getByTestId(`poll-option-${i}`).fill(text);
  }
  const link = await create(owner, 'Lunch, ranked?');
  const ann = await openUser(newUser, 'Ann');
  const bob = await openUser(newUser, 'Bob');
  await joinByLink(ann, link);
  await joinByLink(bob, link);
  const everyone = [owner, ann, bob];
  const ranking = (page) => page.locator('[data-testid^="rank-"][data-testid$="-text"]').allTextContents();
  await expect.poll(() => ranking(ann)).toEqual(['Pizza', 'Sushi', 'Tacos', 'Curry']);
  await expect(ann.getByTestId('rank-0-up')).toBeDisabled();
  await expect(ann.getByTestId('rank-3-down')).toBeDisabled();

  // Ann, by keyboard only: Tacos up twice (the focus follows Tacos), then Sushi up once.
  await ann.getByTestId('rank-2-up').focus();
  await ann.keyboard.press('Enter');
  await expect.poll(() => ranking(ann)).toEqual(['Pizza', 'Tacos', 'Sushi', 'Curry']);
  await ann.keyboard.press('Enter');
  await expect.poll(() => ranking(ann)).toEqual(['Tacos', 'Pizza', 'Sushi', 'Curry']);
  await ann.getByTestId('rank-2-up').focus();
  await ann.keyboard.press('Space');
  await expect.poll(() => ranking(ann)).toEqual(['Tacos', 'Sushi', 'Pizza', 'Curry']);
  await expect(ann.getByTestId('vote-hint')).toHaveText('Not saved yet.');
  await ann.getByTestId('vote-submit').click();

  // Bob: Sushi first, then Tacos.
  await bob.getByTestId('rank-1-up').click();
  await bob.getByTestId('rank-2-up').click();
  await expect.poll(() => ranking(bob)).toEqual(['Sushi', 'Tacos', 'Pizza', 'Curry']);
  await bob.getByTestId('vote-submit').click();

  // Olga: Pizza, Tacos, Sushi.
  await owner.getByTestId('rank-2-up').click();
  await owner.getByTestId('vote-submit').click();

  // Round 1: 1 / 1 / 1 / 0, Curry (no votes) out. Round 2: a three-way tie, the latest option
  // (Tacos) out, Ann's ballot moves to Sushi. Round 3: Sushi 2 of 3.
  await Promise.all(
    everyone.flatMap((p) => [
      expect(p.getByTestId('irv-round-1')).toContainText('Pizza 1 · Sushi 1 · Tacos 1 · Curry 0'),
      expect(p.getByTestId('irv-round-1')).toContainText('out: Curry'),
      expect(p.getByTestId('irv-round-2')).toContainText('Pizza 1 · Sushi 1 · Tacos 1'),
      expect(p.getByTestId('irv-round-2')).toContainText('out: Tacos'),
      expect(p.getByTestId('irv-round-3')).toContainText('Pizza 1 · Sushi 2'),
      expect(p.getByTestId('irv-round-4')).toHaveCount(0),
      expect(p.getByTestId('irv-winner-text')).toHaveText('Sushi'),
      expect(p.getByTestId('irv-winner')).toContainText('2 of 3 ballots in round 3'),
    ]),
  );
  // Saved rankings come back from the owner as they were cast.
  await expect.poll(() => ranking(ann)).toEqual(['Tacos', 'Sushi', 'Pizza', 'Curry']);
  await expect(ann.getByTestId('vote-hint')).toHaveText('Your ranking is saved.');
  await Promise.all(everyone.map((p) => expect(p.getByTestId('pending-badge')).toHaveCount(0)));

  const csv = await csvTable(bob, '"Lunch, ranked\\?"');
  expect(csv).toBe(
    'Round,Pizza,Sushi,Tacos,Curry,Exhausted,Eliminated\r\n' +
      '1,1,1,1,0,0,Curry\r\n' +
      '2,1,1,1,,0,Tacos\r\n' +
      '3,1,2,,,0,\r\n' +
      'Winner,Sushi\r\n' +
      '\r\n' +
      'Voter,Rank 1,Rank 2,Rank 3,Rank 4\r\n' +
      'Ann,Tacos,Sushi,Pizza,Curry\r\n' +
      'Bob,Sushi,Tacos,Pizza,Curry\r\n' +
      'Olga,Pizza,Tacos,Sushi,Curry\r\n',
  );
  const snapshot = await download(owner, 'export-snapshot');
  const checker = await verifyOffline(newUser, snapshot);
  await expect(checker.getByTestId('verified-summary')).toHaveText('Instant-runoff winner: Sushi (round 3)');

  await ann.getByTestId('voters').locator('summary').click();
  await screens('ranked', [['participant', ann], ['owner', owner]]);

  // Bob moves Pizza to the top: Pizza now has a first-round majority.
  await bob.getByTestId('rank-2-up').click();
  await bob.getByTestId('rank-1-up').click();
  await bob.getByTestId('vote-submit').click();
  await Promise.all(
    everyone.flatMap((p) => [
      expect(p.getByTestId('irv-winner-text')).toHaveText('Pizza'),
      expect(p.getByTestId('irv-round-2')).toHaveCount(0),
    ]),
  );

  // Closing: the winner stands as the final result everywhere, and the rankings can no longer move.
  await owner.getByTestId('poll-close').click();
  await Promise.all(
    everyone.flatMap((p) => [
      expect(p.getByTestId('final-results')).toHaveText('Final results'),
      expect(p.getByTestId('irv-winner-text')).toHaveText('Pizza'),
      expect(p.getByTestId('vote-submit')).toBeDisabled(),
    ]),
  );
  await expect(ann.getByTestId('rank-1-up')).toBeHidden();
  await screens('ranked-closed', [['participant', ann]]);
});
