/** `dockwall plan`: base snapshot + Compose files → the snapshot of the host after deployment. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { planFiles } from '../../docker/plan-snapshot.ts';
import { planHost } from '../../docker/plan.ts';
import { loadCompose } from '../../ingest/compose.ts';
import { daemonConfigOf } from '../../docker/daemon-config.ts';
import { loadDaemonFile } from '../../ingest/daemon.ts';
import { readInputFile, SIZE_LIMITS } from '../../ingest/read-input.ts';
import { loadSnapshot } from '../load-snapshot.ts';
import { parseDockerVersion } from '../../docker/version.ts';
import type { Diagnostic } from '../../model/diagnostic.ts';
import { safeText } from '../../model/safe-text.ts';
import { diagnosticLine } from '../../report/describe.ts';
import type { SnapshotFileRole } from '../../model/snapshot.ts';
import type { Command, CommandIo } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { SNAPSHOT_OPTIONS, SNAPSHOT_USAGE, snapshotInputFrom } from '../snapshot-args.ts';
import { VERSION } from '../../version.ts';

const usage = `Usage: dockwall plan BASE --compose FILE [--compose FILE …] [--daemon daemon.json] --out DIR

Write the snapshot the host will have once a Compose project runs on it: the project's networks
and containers with their addresses and published ports, and the rules Docker adds for them
(for the host's Docker version and daemon.json) merged into the base host's own rules. audit,
review, trace and diff read the result like a collected snapshot.

BASE is a snapshot of the host as it is now (\`dockwall collect\`), or of a fresh host: a
directory with the host's own rules (an empty iptables-save.txt will do), docker-version.json
and sysctl.txt. Without Docker rules in BASE, dockerd's own start is part of the plan.

Options:
  --compose FILE        a Compose file; several merge as \`docker compose -f A -f B\` does
  --daemon FILE         the daemon.json the host will run with (default: BASE's daemon.json)
  --project-name NAME   the Compose project name (default: \`name:\`, COMPOSE_PROJECT_NAME, or
                        the first Compose file's directory)
  --profile NAME        start the services of this Compose profile too (repeatable)
  --out DIR             where to write the planned snapshot (must not exist, or be empty)

Variables in Compose files are interpolated from the environment and the .env file beside the
first Compose file. Every choice the plan makes (subnets, addresses, free host ports) and every
guess is listed on stderr and recorded in DIR/manifest.json; docs/plan.md says how each is made.

Exit codes: 0 the plan was written, 2 usage or input error (a Compose file or BASE that cannot
be read, an error in the Compose file, an output directory that is not empty).

${SNAPSHOT_USAGE}`;

function printDiagnostics(io: CommandIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr.write(`${diagnosticLine(d)}\n`);
}

async function emptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...SNAPSHOT_OPTIONS,
    compose: { type: 'string', multiple: true },
    'project-name': { type: 'string' },
    profile: { type: 'string', multiple: true },
    out: { type: 'string', short: 'o' },
  });
  const composeFiles = values.compose ?? [];
  if (composeFiles.length === 0) throw new UsageError('give at least one --compose FILE');
  if (values.out === undefined || values.out === '') throw new UsageError('give --out DIR');
  const out = path.resolve(io.cwd, values.out);
  if (!(await emptyOrMissing(out))) {
    io.stderr.write(
      safeText(`dockwall plan: ${values.out} exists and is not empty; choose a new directory`) +
        '\n',
    );
    return 2;
  }
  const input = snapshotInputFrom(values, positionals, io.cwd);
  const base = await loadSnapshot(input);
  printDiagnostics(
    io,
    base.diagnostics.filter((d) => d.severity === 'error'),
  );
  if (base.diagnostics.some((d) => d.code === 'no-ruleset')) return 2;

  const texts: Partial<Record<SnapshotFileRole, string>> = {};
  for (const f of base.files) {
    if (f.status !== 'read' || f.path === null) continue;
    // Read again as loadSnapshot did: inside the snapshot, capped, decoded.
    const within = input.files?.[f.role] === undefined ? (base.directory ?? null) : null;
    const read = await readInputFile(f.path, { within, maxBytes: SIZE_LIMITS.large });
    if (read.status === 'read') texts[f.role] = read.text;
  }
  const project = await loadCompose(composeFiles, {
    env: io.env,
    cwd: io.cwd,
    ...(values['project-name'] === undefined ? {} : { projectName: values['project-name'] }),
  });
  printDiagnostics(io, project.diagnostics);
  if (project.diagnostics.some((d) => d.severity === 'error')) {
    io.stderr.write('dockwall plan: the Compose files have errors; nothing written\n');
    return 2;
  }
  const version =
    base.host.dockerVersion === null ? null : parseDockerVersion(base.host.dockerVersion);
  const daemon = daemonConfigOf(
    version,
    texts.daemon === undefined
      ? null
      : loadDaemonFile(texts.daemon, input.files?.daemon ?? 'daemon.json').daemon,
  );
  const result = planHost({ base, project, daemon, profiles: values.profile ?? [] });
  printDiagnostics(io, result.diagnostics);
  if (result.diagnostics.some((d) => d.severity === 'error')) {
    io.stderr.write('dockwall plan: Docker would refuse this project; nothing written\n');
    return 2;
  }
  const manifest = {
    tool: `dockwall ${VERSION}`,
    planned: {
      base: input.directory ?? null,
      compose: composeFiles,
      project: project.name,
      projectNameFrom: project.nameSource,
      dockerVersion: result.version.text,
      layout: result.layout,
      daemonStarted: result.daemonStarted,
      networksCreated: result.createdNetworks.map((n) => n.name),
      containersStarted: result.containers.map((c) => c.container.name),
      containersReplaced: result.replaces,
      assumptions: result.assumptions,
    },
  };
  const files = planFiles({
    baseTexts: texts,
    baseNetworks: base.host.networks,
    result,
    daemonJson: texts.daemon ?? null,
    manifest,
  });
  await mkdir(out, { recursive: true });
  for (const [name, text] of files) {
    // 'wx': never through a link or over a file that appeared meanwhile.
    await writeFile(path.join(out, name), text, { flag: 'wx', mode: 0o644 });
  }
  io.stderr.write(
    safeText(
      `dockwall plan: ${values.out}: Docker ${result.version.text} (${result.layout} layout), project ${project.name}: ` +
        `${result.createdNetworks.length} network(s) created, ${result.containers.length} container(s) started` +
        (result.replaces.length > 0 ? `, ${result.replaces.length} replaced` : ''),
    ) + '\n',
  );
  for (const a of manifest.planned.assumptions) io.stderr.write(safeText(`  assumed: ${a}`) + '\n');
  return 0;
}

export const plan: Command = {
  name: 'plan',
  summary: 'Write the snapshot a host will have once a Compose project runs on it',
  usage,
  run,
};
