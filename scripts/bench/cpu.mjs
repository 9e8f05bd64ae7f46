// Measures a command's CPU time (user + system, all its processes) and peak RSS through getrusage of
// the children of a python3 wrapper: Node has no getrusage for its children.
import { execFileSync } from 'node:child_process';

const WRAPPER = `
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime, wall, r.ru_maxrss)
`;

/** Runs `command` and returns { cpu, wall } in seconds and { maxRssMb }. */
export function measure(command, args) {
  const [cpu, wall, maxRssKb] = execFileSync('python3', ['-c', WRAPPER, command, ...args], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { cpu, wall, maxRssMb: maxRssKb / 1024 };
}
