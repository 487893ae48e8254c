// One data connection per (participant, owner): a participant in many polls of one owner must
// not open one connection per poll (the hub keeps only a few per peer and would close the oldest
// again and again, so pages flapped between connected and offline).
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll } from './app.mjs';

// Counts the page's RTCPeerConnections: created, and closed (by close() or by the network).
function countPeerConnections() {
  const Native = window.RTCPeerConnection;
  const counts = { created: 0, closed: 0 };
  window.__peerConnections = counts;
  function Counted(...args) {
    const pc = new Native(...args);
    counts.created += 1;
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        counts.closed += 1;
      }
    };
    const close = pc.close.bind(pc);
    pc.close = () => {
      end();
      close();
    };
    pc.addEventListener('connectionstatechange', () => {
      if (['closed', 'failed'].includes(pc.connectionState)) end();
    });
    return pc;
  }
  Counted.prototype = Native.prototype;
  window.RTCPeerConnection = Counted;
}

/** Shows `path` in the running app without a reload (the router follows popstate). */
async function goInApp(page, path) {
  await page.evaluate((to) => {
    history.pushState(null, '', to);
    dispatchEvent(new PopStateEvent('popstate'));
  }, appUrl(path));
}

// Listed, so that the owner's poll list shows them at the end.
async function createPolls(page, count, prefix) {
  const polls = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await goInApp(page, '/');
    polls.push(await createPoll(page, { title: `${prefix} ${i + 1}`, options: ['Yes', 'No'], listed: true }));
  }
  return polls;
}

test('a participant in 8 polls of one owner and 2 of another holds 2 connections', async ({
  newUser,
}) => {
  test.setTimeout(300_000);
  const olga = await openUser(newUser, 'Olga');
  const oscar = await openUser(newUser, 'Oscar');
  const olgaPolls = await createPolls(olga, 8, 'Olga asks');
  const oscarPolls = await createPolls(oscar, 2, 'Oscar asks');
  const all = [...olgaPolls, ...oscarPolls];

  const annContext = await newUser();
  await annContext.addInitScript(countPeerConnections);
  const ann = await annContext.newPage();
  await ann.goto(appUrl('/'));
  await ann.getByTestId('participant-name').fill('Ann');
  await expect(ann.getByTestId('name-save-state')).toHaveAttribute('data-state', 'saved');
  for (const poll of all) {
    await goInApp(ann, new URL(poll.link).pathname);
    await expect(ann.getByTestId('poll-page')).toHaveAttribute('data-poll-id', poll.pollId);
    await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
    await expect(ann.getByTestId('my-role')).toContainText('voter');
  }
  const counts = () => ann.evaluate(() => ({ ...window.__peerConnections }));
  expect(await counts()).toEqual({ created: 2, closed: 0 });

  // A minute on: every page still connected, and not one connection closed or added.
  const until = Date.now() + 60_000;
  let round = 0;
  while (Date.now() < until) {
    const poll = all[round % all.length];
    round += 1;
    await goInApp(ann, new URL(poll.link).pathname);
    await expect(ann.getByTestId('poll-page')).toHaveAttribute('data-poll-id', poll.pollId);
    await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
    await ann.waitForTimeout(2_000);
  }
  expect(await counts()).toEqual({ created: 2, closed: 0 });

  // A vote in every poll is acked, and each owner counts it.
  for (const poll of all) {
    await goInApp(ann, new URL(poll.link).pathname);
    await expect(ann.getByTestId('poll-page')).toHaveAttribute('data-poll-id', poll.pollId);
    await ann.getByTestId('vote-option-0').click();
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
    await expect(ann.getByTestId('tally-0')).toHaveText('1');
  }
  for (const [owner, polls] of [
    [olga, olgaPolls],
    [oscar, oscarPolls],
  ]) {
    for (const poll of polls) {
      await goInApp(owner, `/p/${poll.ownerId}/${poll.pollId}`);
      await expect(owner.getByTestId('tally-0')).toHaveText('1');
      await expect(owner.getByTestId('participant-count')).toHaveText('1');
    }
  }
  expect(await counts()).toEqual({ created: 2, closed: 0 });

  // The owner's poll list goes over the same connection.
  await goInApp(ann, `/o/${olgaPolls[0].ownerId}`);
  await expect(ann.getByTestId('poll-list-item')).toHaveCount(8);
  expect(await counts()).toEqual({ created: 2, closed: 0 });
});
