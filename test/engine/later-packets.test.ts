/** Whether a connection's later packets may take another way than its first: read off the rules. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { laterPacketsMayDiffer, notrackMayTakeFirstOnly } from '../../src/engine/later-packets.ts';
import { createEngine } from '../../src/engine/index.ts';
import { parseIptables } from '../../src/ingest/iptables/index.ts';
import { parseNft } from '../../src/ingest/nft/index.ts';
import { combineRulesets } from '../../src/model/firewall.ts';
import { fixtures } from '../support/cut-snapshots.ts';
import { HOST4, SSH4 } from '../support/one-host.ts';

const differ = (text: string): boolean =>
  laterPacketsMayDiffer(parseIptables(text, { file: 'iptables-save.txt', family: 'ipv4' }).ruleset);

const filter = (...rules: string[]): string =>
  `*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:FW - [0:0]\n${rules.join('\n')}\nCOMMIT\n`;

describe('laterPacketsMayDiffer', () => {
  it("finds nothing to part them in Docker's own rules", () => {
    for (const capture of ['28.5.2/s3-usernet-portmap', '20.10.24/s3-usernet-portmap']) {
      const text = readFileSync(
        path.join(fixtures, 'snapshots', capture, 'iptables-save.txt'),
        'utf8',
      );
      expect([capture, differ(text)]).toEqual([capture, false]);
    }
  });

  it('takes rules that treat both alike, or can only help a later packet, as parting nothing', () => {
    expect(differ(filter('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'))).toBe(
      false,
    );
    expect(differ(filter('-A INPUT -m conntrack --ctstate INVALID -j DROP'))).toBe(false);
    expect(differ(filter('-A INPUT -m state --state NEW -j LOG'))).toBe(false);
    // kube-proxy's: a DNATed connection reads DNAT alike on its first packet past NAT and after
    expect(
      differ(
        filter(
          '-A INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
        ),
      ),
    ).toBe(false);
    // only first packets are sent to a chain that can only stop them
    expect(
      differ(
        filter(
          '-A FW -p tcp --dport 25 -j REJECT',
          '-A FW -j RETURN',
          '-A INPUT -m conntrack --ctstate NEW -j FW',
        ),
      ),
    ).toBe(false);
  });

  it('takes a rule that may stop a later packet its first one passed as parting them', () => {
    // seeds 248 and 267: a drop of ESTABLISHED
    expect(differ(filter('-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j DROP'))).toBe(
      true,
    );
    // an accept of first packets only: the later ones go on to the policy
    expect(differ(filter('-A INPUT -p tcp -m conntrack --ctstate NEW -j ACCEPT'))).toBe(true);
    // a chain first packets skip that accepts
    expect(differ(filter('-A FW -j ACCEPT', '-A INPUT -m conntrack ! --ctstate NEW -j FW'))).toBe(
      true,
    );
    // TCP flags tell a SYN from an ACK
    expect(differ(filter('-A INPUT -p tcp --tcp-flags SYN,ACK SYN -j ACCEPT'))).toBe(true);
    // a rate tells a connection's packets apart; a reverse-path check reads what they share
    expect(differ(filter('-A INPUT -p tcp -m limit --limit 5/s -j ACCEPT'))).toBe(true);
    expect(
      differ(
        '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n',
      ),
    ).toBe(false);
  });

  it('reads the DNAT state as later packets have it before the NAT chains, and first ones not', () => {
    const mangle = (rule: string): string => `*mangle\n:PREROUTING ACCEPT [0:0]\n${rule}\nCOMMIT\n`;
    expect(differ(mangle('-A PREROUTING -m conntrack --ctstate DNAT -j DROP'))).toBe(true);
    // in filter, after NAT, a DNATed connection's first packet has it too
    expect(differ(filter('-A INPUT -m conntrack --ctstate DNAT -j DROP'))).toBe(false);
  });

  it('trace: a connection no NAT touched is not stopped by `ct status dnat`, first or later', () => {
    // random nftables operator seed 84: the later packets were "possibly dropped"
    const text =
      'table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct status dnat tcp dport 22 drop\n\t}\n}\n';
    const rs = combineRulesets(null, parseNft(text, 'ruleset.nft').ruleset, 'ipv4');
    if (rs === null) throw new Error('no ruleset');
    const t = createEngine(rs, HOST4).trace(SSH4);
    expect([t.verdict, t.certainty]).toEqual(['accepted', 'certain']);
  });

  it('leaves the NAT table out: later packets take the NAT their first one got', () => {
    expect(
      differ(
        '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n',
      ),
    ).toBe(false);
  });
});

describe('notrackMayTakeFirstOnly', () => {
  const firstOnly = (...rules: string[]): boolean =>
    notrackMayTakeFirstOnly(
      parseIptables(
        `*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:SYNS - [0:0]\n${rules.join('\n')}\nCOMMIT\n`,
        { file: 'iptables-save.txt', family: 'ipv4' },
      ).ruleset,
    );

  it('finds a NOTRACK of the SYN alone, also behind a jump', () => {
    expect(firstOnly('-A PREROUTING -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack')).toBe(
      true,
    );
    expect(firstOnly('-A PREROUTING -p tcp --syn -j SYNS', '-A SYNS -j NOTRACK')).toBe(true);
    expect(firstOnly('-A PREROUTING -m state --state NEW -j CT --notrack')).toBe(true);
  });

  it('takes a NOTRACK of every packet of a tuple, or none, as leaving nothing to conntrack', () => {
    expect(firstOnly('-A PREROUTING -d 203.0.113.0/24 -p tcp --dport 80 -j CT --notrack')).toBe(
      false,
    );
    expect(firstOnly('-A PREROUTING -p tcp --syn -j MARK --set-mark 1')).toBe(false);
    expect(firstOnly('-A PREROUTING -p udp -j CT --zone 1')).toBe(false);
  });
});
