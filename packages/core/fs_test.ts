import assert from "node:assert/strict";
import { describeWriteError, writeBytesAtomic } from "./fs.ts";

const linux = Deno.build.os === "linux";

/** A real "no space left on device" error: what writing to /dev/full raises. */
async function diskFullError(): Promise<Error> {
  const f = await Deno.open("/dev/full", { write: true });
  try {
    await f.write(new Uint8Array(16));
  } catch (e) {
    return e as Error;
  } finally {
    f.close();
  }
  throw new Error("/dev/full accepted a write");
}

Deno.test({
  name: "a full disk is reported with the path and the bytes the file needs",
  ignore: !linux,
  async fn() {
    const e = await diskFullError();
    assert.equal(
      describeWriteError(e, { path: "/data/runs/r1/train-state.safetensors", bytes: 5_000_000, written: 65_536 }),
      "Cannot write /data/runs/r1/train-state.safetensors: the disk is full (ENOSPC): the file needs 5000000 bytes, " +
        "65536 were written before the disk filled; free space in /data/runs/r1 and rerun",
    );
    assert.match(describeWriteError(e, { path: "/x/y", written: 10, atLeast: 30 }), /needs at least 30 bytes, 10 were/);
    const other = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
    assert.equal(
      describeWriteError(other, { path: "/x/y", written: 0 }),
      "Cannot write /x/y: Permission denied (os error 13)",
    );
  },
});

/** A 64 KiB tmpfs, where this process may mount one (root on Linux), else null. */
async function smallDisk(): Promise<{ dir: string } | null> {
  if (!linux || Deno.uid() !== 0) return null;
  const dir = await Deno.makeTempDir();
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    stderr: "null",
  })
    .output().catch(() => null);
  if (!mount?.success) {
    await Deno.remove(dir);
    return null;
  }
  return { dir };
}

const disk = await smallDisk();

Deno.test({
  name: "an atomic write that fills the disk names the path and size, and leaves the old file and no temporary",
  ignore: disk === null,
  async fn() {
    const path = `${disk!.dir}/state.bin`;
    await writeBytesAtomic(path, new Uint8Array(1000).fill(7));
    await assert.rejects(() => writeBytesAtomic(path, new Uint8Array(200_000)), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`^Cannot write ${path}: the disk is full \\(ENOSPC\\): the file needs 200000 bytes`),
      );
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(disk!.dir)].map((e) => e.name), ["state.bin"]);
    assert.equal((await Deno.readFile(path)).length, 1000);
  },
});

globalThis.addEventListener("unload", () => {
  if (!disk) return;
  new Deno.Command("umount", { args: [disk.dir] }).outputSync();
  Deno.removeSync(disk.dir, { recursive: true });
});
