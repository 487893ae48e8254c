// One network identity per browser: the first tab registers the peer ID; a second tab of the same
// browser says so and can take over, after which the first tab steps back.
import { test, expect, appUrl } from './fixtures.mjs';

test('a second tab of the same identity does not steal the first one silently', async ({ newUser }) => {
  const context = await newUser();
  const first = await context.newPage();
  await first.goto(appUrl('/'));
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');

  const second = await context.newPage();
  await second.goto(appUrl('/'));
  const status = second.getByTestId('network-status');
  await expect(status).toHaveAttribute('data-state', 'other-tab');
  await expect(status).toContainText('already open in another tab');
  // The first tab is still the one online.
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');

  await second.getByTestId('take-over').click();
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'other-tab');
  await expect(first.getByTestId('network-status')).toContainText('Another tab took over');
  await expect(first.getByTestId('take-over')).toBeVisible();
});

test('closing the tab that holds the identity lets a reload of the other one go online', async ({ newUser }) => {
  const context = await newUser();
  const first = await context.newPage();
  await first.goto(appUrl('/'));
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  const second = await context.newPage();
  await second.goto(appUrl('/'));
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'other-tab');
  await first.close();
  await second.reload();
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
});
