import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.js';
import { UsageError } from '../src/errors.js';
import { main } from '../src/main.js';
import { captureIo } from './support.js';

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('reads demo options with their defaults', () => {
    expect(parseCommandLine(['demo'])).toEqual({
      command: 'demo',
      options: { durationS: 30, tty: true, rate: 150, concurrency: 8, strategy: 'least-request' },
    });
    expect(
      parseCommandLine([
        'demo',
        '--duration',
        '5',
        '--no-tty',
        '--rate=90',
        '--concurrency',
        '4',
        '--strategy',
        'peak-ewma',
      ]),
    ).toEqual({
      command: 'demo',
      options: { durationS: 5, tty: false, rate: 90, concurrency: 4, strategy: 'peak-ewma' },
    });
  });

  it('reads watch options; a numeric --port is a number', () => {
    expect(
      parseCommandLine([
        'watch',
        'web',
        '-n',
        'shop',
        '--context',
        'prod',
        '--kubeconfig',
        '/tmp/k',
        '--port',
        '8080',
        '--source',
        'auto',
        '--json',
        '--tls-server-name',
        'cluster.condi.me',
        '--scope',
        'namespace',
        '--address-type',
        'ipv6,IPv4,IPv6',
      ]),
    ).toEqual({
      command: 'watch',
      options: {
        service: 'web',
        namespace: 'shop',
        context: 'prod',
        kubeconfig: '/tmp/k',
        port: 8080,
        source: 'auto',
        scope: 'namespace',
        addressTypes: ['IPv6', 'IPv4'],
        json: true,
        tlsServerName: 'cluster.condi.me',
        tty: true,
      },
    });
    const named = parseCommandLine(['watch', 'web', '--port', 'http']);
    expect(named.command === 'watch' && named.options.port).toBe('http');
    // Defaults: the automatic scope, every address family.
    expect(named.command === 'watch' && [named.options.scope, named.options.addressTypes]).toEqual([
      'auto',
      undefined,
    ]);
  });

  it('help and version in every spelling', () => {
    expect(parseCommandLine(['--help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['help', 'demo'])).toEqual({ command: 'help', topic: 'demo' });
    expect(parseCommandLine(['demo', '--help'])).toEqual({ command: 'help', topic: 'demo' });
    expect(parseCommandLine(['watch', '-h'])).toEqual({ command: 'help', topic: 'watch' });
    expect(parseCommandLine(['watch', 'web', '--help'])).toEqual({ command: 'help', topic: 'watch' });
    expect(parseCommandLine(['help', 'watch'])).toEqual({ command: 'help', topic: 'watch' });
    expect(parseCommandLine(['demo', '-h'])).toEqual({ command: 'help', topic: 'demo' });
    expect(parseCommandLine(['-v'])).toEqual({ command: 'version' });
  });

  it('skips the lone -- that pnpm/npm run put before the flags; elsewhere -- ends the options', () => {
    expect(parseCommandLine(['demo', '--', '--duration', '20'])).toEqual(
      parseCommandLine(['demo', '--duration', '20']),
    );
    expect(parseCommandLine(['--', 'demo', '--rate', '5'])).toEqual(
      parseCommandLine(['demo', '--rate', '5']),
    );
    expect(parseCommandLine(['watch', '--', 'web', '-n', 'shop'])).toEqual(
      parseCommandLine(['watch', 'web', '-n', 'shop']),
    );
    expect(usageError(['watch', 'web', '--', '--json'])).toBe('watch takes one Service, got also: --json');
    expect(usageError(['demo', '--rate', '5', '--', '--duration', '20'])).toBe(
      'demo takes no argument "--duration"',
    );
  });

  it('no command is a wrong command line, not help', () => {
    expect(usageError([])).toBe(
      'a command is needed: endpoint-watch demo, or endpoint-watch watch <service>',
    );
    expect(usageError(['--'])).toBe(
      'a command is needed: endpoint-watch demo, or endpoint-watch watch <service>',
    );
  });

  it('names what is wrong', () => {
    expect(usageError(['deploy'])).toBe('unknown command "deploy": the commands are demo and watch');
    expect(usageError(['--duration', '5'])).toBe('expected a command before --duration: demo or watch');
    expect(usageError(['demo', '--bogus'])).toBe('unknown option --bogus for demo');
    expect(usageError(['demo', '--duration'])).toBe('--duration needs a value');
    expect(usageError(['demo', '--duration', 'soon'])).toBe(
      '--duration must be a number from 3 to 3600, got "soon"',
    );
    expect(usageError(['demo', '--duration', '1'])).toBe(
      '--duration must be a number from 3 to 3600, got "1"',
    );
    expect(usageError(['demo', '--rate', '2.5'])).toBe(
      '--rate must be a whole number from 1 to 2000, got "2.5"',
    );
    expect(usageError(['demo', 'extra'])).toBe('demo takes no argument "extra"');
    expect(usageError(['demo', '--strategy', 'fastest'])).toBe(
      '--strategy must be one of least-request, peak-ewma, round-robin, random, got "fastest"',
    );
    expect(usageError(['watch'])).toBe('watch needs the name of a Service: endpoint-watch watch <service>');
    expect(usageError(['watch', 'web', 'api'])).toBe('watch takes one Service, got also: api');
    expect(usageError(['watch', 'Web_1'])).toContain('Service name "Web_1" is not a valid name');
    expect(usageError(['watch', 'web', '-n', 'Shop'])).toContain('--namespace "Shop" is not a valid name');
    expect(usageError(['watch', 'web', '--source', 'pods'])).toBe(
      '--source must be one of endpointslices, endpoints, auto, got "pods"',
    );
    expect(usageError(['watch', 'web', '--scope', 'cluster'])).toBe(
      '--scope must be one of auto, service, namespace, got "cluster"',
    );
    expect(usageError(['watch', 'web', '--address-type', 'IPv4,ipv5'])).toBe(
      '--address-type takes IPv4, IPv6, FQDN (comma-separated), got "IPv4,ipv5"',
    );
    expect(usageError(['watch', 'web', '--port', '70000'])).toBe(
      '--port must be a port name or 1 to 65535, got "70000"',
    );
    expect(usageError(['watch', 'web', '--json=yes'])).toContain("Option '--json' does not take an argument");
    expect(usageError(['watch', 'web', '--context', ''])).toBe('--context needs a non-empty value');
  });
});

describe('main: exit codes', () => {
  it("2 for a wrong command line, with the message and a pointer to the command's --help on stderr", async () => {
    const io = captureIo();
    expect(await main(['demo', '--duration', 'x'], io)).toBe(2);
    expect(io.stdout.text).toBe('');
    expect(io.stderr.text).toBe(
      `endpoint-watch: --duration must be a number from 3 to 3600, got "x"\nRun 'endpoint-watch demo --help' for usage.\n`,
    );

    const unknown = captureIo();
    expect(await main(['watch', 'web', '--namespace'], unknown)).toBe(2);
    expect(unknown.stderr.text).toBe(
      `endpoint-watch: --namespace needs a value\nRun 'endpoint-watch watch --help' for usage.\n`,
    );

    const none = captureIo();
    expect(await main([], none)).toBe(2);
    expect(none.stdout.text).toBe('');
    expect(none.stderr.text).toContain(`Run 'endpoint-watch --help' for usage.`);

    const wrongCommand = captureIo();
    expect(await main(['deploy'], wrongCommand)).toBe(2);
    expect(wrongCommand.stderr.text).toContain(`Run 'endpoint-watch --help' for usage.`);
  });

  it('0 for --help, -h and help <command>, usage on stdout, nothing on stderr', async () => {
    const cases: [string[], string][] = [
      [['--help'], 'Usage: endpoint-watch <command>'],
      [['-h'], 'Usage: endpoint-watch <command>'],
      [['help'], 'Usage: endpoint-watch <command>'],
      [['help', 'demo'], 'Usage: endpoint-watch demo'],
      [['demo', '--help'], 'Usage: endpoint-watch demo'],
      [['demo', '--', '-h'], 'Usage: endpoint-watch demo'],
      [['watch', '-h'], 'Usage: endpoint-watch watch <service>'],
      [['watch', 'web', '--help'], 'Usage: endpoint-watch watch <service>'],
    ];
    for (const [argv, usage] of cases) {
      const io = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(0);
      expect(io.stdout.text.startsWith(usage), argv.join(' ')).toBe(true);
      expect(io.stderr.text).toBe('');
    }
  });

  it('0 for help and version, on stdout', async () => {
    const help = captureIo();
    expect(await main(['help', 'watch'], help)).toBe(0);
    expect(help.stdout.text).toContain('Usage: endpoint-watch watch <service> [options]');
    expect(help.stdout.text).toContain('--tls-server-name <name>');
    expect(help.stderr.text).toBe('');

    const version = captureIo();
    expect(await main(['--version'], version)).toBe(0);
    expect(version.stdout.text).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('1 for a runtime error: an unknown kubeconfig file', async () => {
    const io = captureIo();
    expect(await main(['watch', 'web', '--kubeconfig', '/nonexistent/kubeconfig'], io)).toBe(1);
    expect(io.stderr.text).toMatch(/^endpoint-watch: error: .*\/nonexistent\/kubeconfig/);
  });
});
