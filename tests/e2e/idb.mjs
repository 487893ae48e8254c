// Reads the app's IndexedDB from a page, the way the end-to-end tests and the benchmarks check
// what was stored (no Playwright imports, so node scripts can use it too).

/** Every value of `store` in the app's database (`starpoll`), parsed from its JSON text. */
export async function storedRows(page, store) {
  return page.evaluate(
    (store) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('starpoll');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction(store).objectStore(store).getAll();
          request.onsuccess = () => {
            resolve(request.result.map((text) => JSON.parse(text)));
            open.result.close();
          };
          request.onerror = () => reject(request.error);
        };
      }),
    store,
  );
}

/** A participant's stored outbox records. */
export const storedOutbox = (page) => storedRows(page, 'outbox');

/** The owner's stored command records of `pollId`: [{ commandId, author, outcome }]. A row
 * holds one record (`record`, older builds) or one commit's records of the poll (`records`). */
export async function processedRecords(page, pollId) {
  return (await storedRows(page, 'processed'))
    .filter((r) => r.pollId === pollId)
    .flatMap((r) => r.records ?? [r.record]);
}
