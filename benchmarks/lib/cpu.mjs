// CPU time of this process (user + system), which the stand-in apiserver (a child process) does not
// add to, and which time spent waiting for a core on a loaded machine does not inflate.

/** Runs `work`, returning its wall-clock result and the process CPU milliseconds it took. */
export async function withCpu(work) {
  const before = process.cpuUsage();
  const wall = await work();
  const used = process.cpuUsage(before);
  return { wall, cpu: (used.user + used.system) / 1000 };
}
