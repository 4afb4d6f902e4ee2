/**
 * The run lock: one process writes a run. A writer holds `runs/<id>/run.lock` (its pid, host and start
 * time), created atomically (a hard link of a complete temporary file, which fails when the lock exists).
 * A second process that opens the same run to write is refused with a {@linkcode RunLockedError}
 * naming the holder; a lock whose process is gone (same host, pid not alive, or alive but started after
 * the lock) is stale: it is reported and taken over. A process may open a run it holds again (the stages
 * of one command do); its locks are released when its command ends ({@linkcode releaseRunLocks}, called
 * by the runtime), and removed when the process exits. Readers (`serve`) never take it.
 *
 * @module
 */
import { join } from "node:path";
import type { Logger } from "@saelab/runs";

/** Name of the lock file inside a run folder. */
export const LOCK_FILE = "run.lock";

/** Who holds a run lock. */
export interface LockHolder {
  /** Process id. */
  pid: number;
  /** Host name. */
  host: string;
  /** When the lock was taken (ISO time). */
  started: string;
  /** Tells this process's locks from a former process with the same pid. */
  token: string;
}

/** A second writer was refused: another process holds the run's lock. */
export class RunLockedError extends Error {
  override name = "RunLockedError";

  /**
   * @param message What could not be done and who holds the lock.
   * @param holder The holder.
   * @param path The lock file.
   */
  constructor(message: string, readonly holder: LockHolder, readonly path: string) {
    super(message);
  }
}

interface Held {
  runsDir: string;
  id: string;
  token: string;
}

/** The locks this process holds, by lock file. */
const held = new Map<string, Held>();
let unloadHook = false;

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** When a process started (ms since the epoch), where the system says (Linux), else null. */
function processStart(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const boot = Number(/^btime (\d+)$/m.exec(Deno.readTextFileSync("/proc/stat"))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : null;
  } catch {
    return null;
  }
}

/** Why a holder on this host is gone, or null when its process is still there. */
function goneBecause(holder: LockHolder): string | null {
  if (holder.pid === Deno.pid) return "this process does not hold it (a former process had the same pid)";
  try {
    Deno.kill(holder.pid, 0 as unknown as Deno.Signal);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return `process ${holder.pid} is not running`;
    if (!(e instanceof Deno.errors.PermissionDenied)) return null;
  }
  const start = processStart(holder.pid);
  const taken = Date.parse(holder.started);
  if (start !== null && Number.isFinite(taken) && start > taken + 2000) {
    return `process ${holder.pid} started after the lock was taken (its pid was reused)`;
  }
  return null;
}

async function readHolder(path: string): Promise<LockHolder | null | "missing"> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw e;
  }
  try {
    const h = JSON.parse(text);
    return Number.isInteger(h?.pid) && typeof h.host === "string" && typeof h.started === "string" ? h : null;
  } catch {
    return null;
  }
}

/** Create `path` holding `text`, atomically; false when it exists. */
async function createFile(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text, { createNew: true });
  try {
    await Deno.link(tmp, path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new Error(`Cannot take the run lock ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

const describe = (h: LockHolder) => `process ${h.pid} on ${h.host} (since ${h.started})`;

/**
 * Take the lock of a run folder for this process (again, when it holds it already).
 *
 * @param runsDir The runs folder.
 * @param id The run id (its folder must exist).
 * @param options Where to report a stale lock taken over.
 * @returns Nothing; the lock is held until {@linkcode releaseRunLocks}.
 * @throws {RunLockedError} When another live process holds it.
 * @example
 * ```ts
 * import { acquireRunLock, LOCK_FILE, releaseRunLocks } from "./_lock.ts";
 * const runs = await Deno.makeTempDir();
 * await Deno.mkdir(`${runs}/r1`);
 * await acquireRunLock(runs, "r1", { log: console });
 * if (JSON.parse(await Deno.readTextFile(`${runs}/r1/${LOCK_FILE}`)).pid !== Deno.pid) throw new Error("not ours");
 * await releaseRunLocks();
 * await Deno.remove(runs, { recursive: true });
 * ```
 */
export async function acquireRunLock(
  runsDir: string,
  id: string,
  options: { log: Pick<Logger, "warn"> },
): Promise<void> {
  const path = join(runsDir, id, LOCK_FILE);
  if (held.has(path)) return;
  const me: LockHolder = {
    pid: Deno.pid,
    host: hostname(),
    started: new Date().toISOString(),
    token: crypto.randomUUID(),
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await createFile(path, JSON.stringify(me) + "\n")) {
      held.set(path, { runsDir, id, token: me.token });
      if (!unloadHook) {
        unloadHook = true;
        globalThis.addEventListener("unload", removeAllSync);
      }
      return;
    }
    const holder = await readHolder(path);
    if (holder === "missing") continue; // released meanwhile
    if (holder === null) {
      // unreadable: not written by this lock (which links complete files); wait for a partial copy, then take it
      const age = Date.now() - ((await Deno.stat(path).catch(() => null))?.mtime?.getTime() ?? 0);
      if (age < 2000) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
    }
    const why = holder === null ? "it is unreadable" : holder.host !== me.host ? null : goneBecause(holder);
    if (why === null) {
      const h = holder as LockHolder;
      throw new RunLockedError(
        `Cannot write run ${id}: it is being written by ${describe(h)}; wait for it to end, or use another --run` +
          (h.host !== me.host ? ` (if no process on ${h.host} writes it, remove ${path})` : ""),
        h,
        path,
      );
    }
    if (await takeOver(path, holder)) {
      options.log.warn(
        `Run ${id}: took over a stale lock` + (holder ? ` of ${describe(holder)}` : "") + ` (${why})`,
      );
    }
  }
  throw new Error(`Cannot take the run lock ${path}: it kept changing hands`);
}

/** Remove a stale lock unless another process took it over first; true when this call removed it. */
async function takeOver(path: string, stale: LockHolder | null): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await createFile(breaker, String(Deno.pid)))) {
    const age = Date.now() - ((await Deno.stat(breaker).catch(() => null))?.mtime?.getTime() ?? Date.now());
    if (age > 10_000) await Deno.remove(breaker).catch(() => {}); // left by a process killed while taking over
    await new Promise((r) => setTimeout(r, 20));
    return false;
  }
  try {
    const now = await readHolder(path);
    const same = now !== "missing" && (now === null ? stale === null : now.token === stale?.token);
    if (!same) return false;
    await Deno.remove(path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    return true;
  } finally {
    await Deno.remove(breaker).catch(() => {});
  }
}

/**
 * The runs whose lock this process holds.
 *
 * @returns Runs folder and id of each.
 * @example
 * ```ts
 * import { heldRuns } from "./_lock.ts";
 * if (!Array.isArray(heldRuns())) throw new Error();
 * ```
 */
export function heldRuns(): { runsDir: string; id: string }[] {
  return [...held.values()].map(({ runsDir, id }) => ({ runsDir, id }));
}

/**
 * Release every run lock this process holds (the lock files that are still its own are removed).
 *
 * @returns Nothing.
 * @example
 * ```ts
 * import { releaseRunLocks } from "./_lock.ts";
 * await releaseRunLocks();
 * ```
 */
export async function releaseRunLocks(): Promise<void> {
  for (const { runsDir, id } of [...held.values()]) await releaseRunLock(runsDir, id);
}

/**
 * Release one lock this process holds (nothing happens when it holds none there).
 *
 * @param runsDir The runs folder (or any folder whose sub-folder `id` was locked).
 * @param id The locked folder's name.
 * @returns Nothing.
 * @example
 * ```ts
 * import { acquireRunLock, heldRuns, releaseRunLock } from "./_lock.ts";
 * const runs = await Deno.makeTempDir();
 * await Deno.mkdir(`${runs}/r1`);
 * await acquireRunLock(runs, "r1", { log: console });
 * await releaseRunLock(runs, "r1");
 * if (heldRuns().some((r) => r.id === "r1")) throw new Error("still held");
 * await Deno.remove(runs, { recursive: true });
 * ```
 */
export async function releaseRunLock(runsDir: string, id: string): Promise<void> {
  const path = join(runsDir, id, LOCK_FILE);
  const h = held.get(path);
  if (!h) return;
  held.delete(path);
  const now = await readHolder(path).catch(() => null);
  if (now !== null && now !== "missing" && now.token === h.token) await Deno.remove(path).catch(() => {});
}

function removeAllSync(): void {
  for (const [path, h] of held) {
    try {
      if (JSON.parse(Deno.readTextFileSync(path)).token === h.token) Deno.removeSync(path);
    } catch { /* gone already */ }
  }
  held.clear();
}
