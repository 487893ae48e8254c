// Polls are unlisted by default: the owner's poll list (what anyone who has the owner's peer ID
// can ask for) names only the polls the owner listed, and an unlisted poll is reached by its
// invite link alone.
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

test('a new poll is unlisted: the owner list shows only listed polls, and the invite link still joins', async ({
  newUser,
}) => {
  const owner = await openUser(newUser, 'Olga');
  const ownerId = (await owner.getByTestId('my-peer-id').textContent()).trim();
  const home = () => owner.getByRole('link', { name: 'starpoll' }).click();
  await owner.getByTestId('new-poll').click();
  await expect(owner.getByTestId('poll-unlisted')).toBeChecked();
  await home();
  const secret = await createPoll(owner, { title: 'Secret plan', options: ['A', 'B'] });
  await expect(owner.getByTestId('share-listing')).toHaveAttribute('data-listed', 'false');

  // Only an unlisted poll: someone with the owner's peer ID finds nothing, and is told why.
  const ann = await openUser(newUser, 'Ann');
  await ann.getByTestId('join-input').fill(ownerId);
  await ann.getByTestId('join-submit').click();
  await expect(ann.getByTestId('owner-polls-status')).toContainText('no listed polls');
  await expect(ann.getByTestId('poll-list-item')).toHaveCount(0);
  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    await ann.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark']) {
      await ann.emulateMedia({ colorScheme: scheme });
      await ann.screenshot({ path: `test-results/screens/owner-polls-none-${name}-${scheme}.png`, fullPage: true });
    }
  }
  await ann.emulateMedia({ colorScheme: 'light' });

  await home();
  const open = await createPoll(owner, { title: 'Open question', options: ['Yes', 'No'], listed: true });
  await expect(owner.getByTestId('share-listing')).toHaveAttribute('data-listed', 'true');
  // The owner's own dashboard shows both.
  await home();
  await expect(owner.getByTestId('poll-list-item')).toHaveCount(2);

  // The list names the listed poll only.
  await ann.goto(appUrl(`/o/${ownerId}`));
  const item = ann.getByTestId('poll-list-item');
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-poll-id', open.pollId);
  await expect(item).toContainText('Open question');
  // The unlisted poll's invite link joins it, and being a member does not list it.
  await joinByLink(ann, secret.link);
  await expect(ann.getByTestId('poll-heading')).toHaveText('Secret plan');
  await ann.getByTestId('vote-option-1').click();
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await expect(ann.getByTestId('tally-1')).toHaveText('1');
  await ann.goto(appUrl(`/o/${ownerId}`));
  await expect(ann.getByTestId('poll-list-item')).toHaveCount(1);
  await expect(ann.getByTestId('poll-list-item')).toHaveAttribute('data-poll-id', open.pollId);
});
