// Exports and deletion: the results CSV matches the tallies; the owner's signed snapshot verifies
// offline in another browser and a tampered copy does not; a deleted poll is gone for its
// participants. Real Chromium, the real PeerJS server, the release build.
import { readFile } from 'node:fs/promises';
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

/** Clicks `testid` and returns the downloaded file's name and text. */
async function download(page, testid) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
}

/** Parses simple RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r') {}
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Three voters on a three-option poll; returns the pages and the tallies the owner shows. */
async function votedPoll(newUser) {
  const owner = await openUser(newUser, 'Olive');
  const { link } = await createPoll(owner, { title: 'Lunch, "Friday"', options: ['Pizza', 'Sushi, fresh', '=cmd()'] });
  await owner.getByTestId('vote-option-1').click();
  const voters = [];
  for (const [name, choice] of [['Ann', 0], ['Bob', 1]]) {
    const page = await openUser(newUser, name);
    await joinByLink(page, link);
    await page.getByTestId(`vote-option-${choice}`).click();
    voters.push(page);
  }
  await expect(owner.getByTestId('tally-1')).toHaveText('2');
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  return { owner, voters, link };
}

test('the results CSV matches the tallies, for the owner and a participant', async ({ newUser }) => {
  const { owner, voters } = await votedPoll(newUser);
  for (const page of [owner, voters[0]]) {
    await expect(page.getByTestId('tally-1')).toHaveText('2');
    const { name, text } = await download(page, 'export-csv');
    expect(name).toBe('lunch-friday-results.csv');
    // A BOM first (spreadsheets then read UTF-8), the poll and the export time, an empty row.
    expect(text.startsWith('\uFEFF')).toBe(true);
    const rows = parseCsv(text.slice(1));
    expect(rows[0]).toEqual(['Poll', 'Lunch, "Friday"']);
    expect(rows[1][0]).toBe('Exported');
    expect(Math.abs(Date.parse(rows[1][1]) - Date.now())).toBeLessThan(120_000);
    expect(rows[2]).toEqual(['']);
    expect(rows[3]).toEqual(['Option', 'Votes', 'Percent', 'Voters']);
    const body = rows.slice(4);
    expect(body.map((r) => r[0])).toEqual(['Pizza', 'Sushi, fresh', "'=cmd()"]); // formula neutralised
    for (const [i, r] of body.entries()) {
      expect(r[1]).toBe(await page.getByTestId(`tally-${i}`).textContent());
    }
    expect(body.map((r) => r[2])).toEqual(['33.3', '66.7', '0.0']);
    expect(body[1][3].split('; ').sort()).toEqual(['Bob', 'Olive']);
  }
});

test('a signed snapshot verifies offline in another browser; a tampered one does not', async ({ newUser }) => {
  const { owner } = await votedPoll(newUser);
  const { name, text } = await download(owner, 'export-snapshot');
  expect(name).toBe('lunch-friday-snapshot.json');

  const checker = await (await newUser()).newPage();
  await checker.goto(appUrl('/verify'));
  await expect(checker.getByTestId('verify-file')).toBeVisible();
  await checker.context().setOffline(true); // verification needs no network
  const check = async (fileText) => {
    await checker.getByTestId('verify-file').setInputFiles({ name: 'snapshot.json', mimeType: 'application/json', buffer: Buffer.from(fileText) });
    return checker.getByTestId('verify-result');
  };

  const intact = await check(text);
  await expect(intact).toHaveAttribute('data-state', 'valid');
  await expect(checker.getByTestId('verified-title')).toHaveText('Lunch, "Friday"');
  await expect(checker.getByTestId('verified-tally-0')).toHaveText('1');
  await expect(checker.getByTestId('verified-tally-1')).toHaveText('2');
  await expect(intact).toContainText('all 3 ballot signature(s)');

  // Tampered body: Ann's ballot moved from option 1 (Pizza) to option 3, owner signature kept.
  const file = JSON.parse(text);
  const body = JSON.parse(file.body);
  const ann = Object.keys(body.poll.ballots).find((peer) => body.poll.members[peer].displayName === 'Ann');
  body.poll.ballots[ann] = [3];
  const tamperedBody = await check(JSON.stringify({ ...file, body: JSON.stringify(body) }));
  await expect(tamperedBody).toHaveAttribute('data-state', 'invalid');
  await expect(checker.getByTestId('verify-error')).toContainText('signature');

  // A flipped signature digit.
  const sig = file.sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const tamperedSig = await check(JSON.stringify({ ...file, sig }));
  await expect(tamperedSig).toHaveAttribute('data-state', 'invalid');

  // Not a snapshot at all.
  const garbage = await check('{"hello": "world"}');
  await expect(garbage).toHaveAttribute('data-state', 'invalid');

  // And the intact file still passes afterwards.
  await expect(await check(text)).toHaveAttribute('data-state', 'valid');
});

test('deleting a poll: participants see it gone, also after a reload, and can leave it', async ({ newUser }) => {
  const { owner, voters } = await votedPoll(newUser);
  const [ann] = voters;
  await owner.getByTestId('poll-delete').click();
  await owner.getByTestId('poll-delete-confirm').click();
  await expect(owner.getByTestId('my-polls-empty')).toBeVisible();
  await expect(ann.getByTestId('poll-gone')).toBeVisible();
  await ann.reload();
  await expect(ann.getByTestId('poll-gone')).toBeVisible();
  await ann.goto(appUrl('/'));
  await expect(ann.getByTestId('poll-list-gone')).toBeVisible();
  await ann.getByTestId('poll-list-item').click();
  await ann.getByTestId('poll-leave').click();
  await ann.getByTestId('poll-leave-confirm').click();
  await expect(ann.getByTestId('joined-polls-empty')).toBeVisible();
  // The owner's reload does not bring it back.
  await owner.reload();
  await expect(owner.getByTestId('my-polls-empty')).toBeVisible();
});
