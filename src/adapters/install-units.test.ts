import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { UNIT_NAMES } from './install-layout.js';
import { ownPackageRoot } from './install-package.js';
import { readUnitTemplate, renderUnit } from './install-units.js';

describe('renderUnit', () => {
  it('points Exec lines into the prefix and leaves every other line alone', () => {
    const unit = '# see /usr/local/bin/moatd\n[Service]\nExecStart=/usr/local/bin/moatd\nExecReload=kill -HUP $MAINPID\nEnvironment=X=/usr/local/bin/\n';
    expect(renderUnit(unit, '/opt/moat/')).toBe(
      '# see /usr/local/bin/moatd\n[Service]\nExecStart=/opt/moat/bin/moatd\nExecReload=kill -HUP $MAINPID\nEnvironment=X=/usr/local/bin/\n',
    );
  });

  it('is the identity for the default prefix', async () => {
    for (const name of UNIT_NAMES) {
      const text = await readUnitTemplate(ownPackageRoot(), name);
      expect(renderUnit(text, '/usr/local')).toBe(text);
    }
  });
});

describe('the shipped units', () => {
  const unit = (name: string) => readFile(`${ownPackageRoot()}/systemd/${name}`, 'utf8');

  it('moatd: notify readiness from a child, restarts forever, after (not bound to) Docker', async () => {
    const text = await unit('moatd.service');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'Restart=always',
      'StartLimitIntervalSec=0',
      'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE',
      'StateDirectory=moat',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'RuntimeDirectory=moat',
      'ProtectKernelModules=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      'ReadWritePaths=-/run/xtables.lock',
      'ExecStart=/usr/local/bin/moatd',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(/^After=.*\bdocker\.service\b/m);
    expect(text).toMatch(/^Wants=.*\bdocker\.service\b/m);
    expect(text).not.toMatch(/^(BindsTo|Requires|PartOf)=/m);
    expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
  });

  it('moat-lockdown: a oneshot ordered before docker.service', async () => {
    const text = await unit('moat-lockdown.service');
    expect(text.split('\n')).toEqual(expect.arrayContaining(['Type=oneshot', 'RemainAfterExit=yes', 'ExecStart=/usr/local/bin/moat lockdown']));
    expect(text).toMatch(/^Before=.*\bdocker\.service\b/m);
  });
});
