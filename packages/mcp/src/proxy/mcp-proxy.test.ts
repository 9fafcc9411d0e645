import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { verifyAuditLog } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort, countCalls, proxyCliArgs, proxyCommandArgs, tempDir, testPolicy, TS_FLAGS, UPSTREAM_SERVER, upstreamCalls } from '../testing/fixture';
import { DECISION_META_KEY } from '../tool-result';

const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

interface Spawned {
  client: Client;
  counter: string;
  dir: string;
  stderr: () => string;
}

/** A real MCP client that spawns the proxy as a desktop assistant does: a command and its args over stdio. */
async function spawnProxy(proxyArgs: string[], elicit?: (message: string) => ElicitResult): Promise<Spawned> {
  const dir = tempDir();
  const counter = join(dir, 'calls.log');
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(testPolicy));
  const args = proxyArgs.map((a) => a.replace('$POLICY', policy).replace('$DIR', dir));
  const client = new Client({ name: 'desktop-assistant', version: '1.0.0' }, { capabilities: elicit ? { elicitation: { form: {} } } : {} });
  if (elicit) client.setRequestHandler(ElicitRequestSchema, async (request) => elicit(request.params.message));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: proxyCommandArgs(args),
    env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await client.connect(transport);
  clients.push(client);
  return { client, counter, dir, stderr: () => err };
}

const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]?.text ?? '');

describe('toolgate-mcp, spawned over stdio by a real MCP client', () => {
  it('passes initialize, tools/list, resources, prompts and logging notifications through unchanged', async () => {
    const { client, counter } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*,transfer']);
    expect(client.getServerVersion()).toMatchObject({ name: 'upstream-fixture', version: '1.0.0' });
    expect(client.getInstructions()).toBe('fixture instructions');
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: {}, prompts: {}, logging: {} });
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['crash', 'delete_repo', 'garble', 'lookup', 'slow', 'transfer', 'wipe_disk']);
    expect(tools.tools.find((t) => t.name === 'lookup')?.annotations).toEqual({ readOnlyHint: true });
    const resource = await client.readResource({ uri: 'memo://greeting' });
    expect(resource.contents[0]).toMatchObject({ text: 'hello from upstream' });
    const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } });
    expect(prompt.messages[0]?.content).toMatchObject({ text: 'Say hello to Ada' });
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    await client.setLoggingLevel('info');
    expect(text(await client.callTool({ name: 'lookup', arguments: { id: '9' } }))).toBe('record 9');
    await expect.poll(() => logs).toEqual(['looked up 9']);
    expect(countCalls(counter, 'lookup')).toBe(1);
  });

  it('denied: the upstream never receives the call (counter 0); allowed: exactly once with the reviewed args; all audited', async () => {
    const { client, counter, dir } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*', '--high-stakes', 'transfer', '--audit', '$DIR/audit.jsonl']);
    const denied = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' } });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/repositories are not deleted by agents .*source policy/);
    expect(denied._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'deny', source: 'policy' });
    const allowed = await client.callTool({ name: 'transfer', arguments: { amount: 40, to: 'bob' } });
    expect(text(allowed)).toBe('sent 40 to bob');
    expect(allowed._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['tell the account owner'] });
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 40, to: 'bob' }]);
    await client.close();
    const audit = join(dir, 'audit.jsonl');
    await expect.poll(() => readFileSync(audit, 'utf8').trim().split('\n').length).toBe(3); // 2 reviews + 1 outcome
    expect((await verifyAuditLog(audit)).ok).toBe(true);
  });

  it('review + elicitation: accept runs the call once and is audited as the human; decline never runs it', async () => {
    const asked: string[] = [];
    const { client, counter, dir } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'transfer', '--audit', '$DIR/audit.jsonl'], (message) => {
      asked.push(message);
      return message.includes('"amount":500') ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
    const ok = await client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'carol' } });
    expect(ok._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'allow', source: 'human' });
    const no = await client.callTool({ name: 'transfer', arguments: { amount: 900, to: 'dave' } });
    expect(no.isError).toBe(true);
    expect(no._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(asked).toHaveLength(2);
    expect(asked[0]).toContain('"transfer"');
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 500, to: 'carol' }]);
    await client.close();
    const audit = join(dir, 'audit.jsonl');
    await expect.poll(() => readFileSync(audit, 'utf8').split('\n').filter((l) => l.includes('"kind":"human_decision"')).length).toBe(2);
    expect(readFileSync(audit, 'utf8')).toContain('mcp-elicitation:desktop-assistant');
  });

  it("a client that hands back the proxy's own allow (a result's _meta Decision, in the next request's _meta) gets nothing from it: each call is reviewed and asked anew", async () => {
    const asked: string[] = [];
    const { client, counter } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*,transfer'], (message) => {
      asked.push(message);
      return message.includes('"amount":500') ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
    const ok = await client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'carol' } });
    const allow = ok._meta?.[DECISION_META_KEY] as Record<string, unknown>;
    expect(allow).toMatchObject({ verdict: 'allow', source: 'human' });
    // The human's allow (and a forged one for the other tool), put back into the request as if it were a ticket.
    const big = await client.callTool({ name: 'transfer', arguments: { amount: 900, to: 'mallory' }, _meta: { [DECISION_META_KEY]: allow } });
    const del = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' }, _meta: { [DECISION_META_KEY]: { ...allow, tool: 'delete_repo' } } });
    expect([big.isError, del.isError]).toEqual([true, true]);
    expect(big._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(del._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'deny', source: 'policy' });
    expect(asked).toHaveLength(2); // 500 and 900: the handed-back allow did not stand in for the human
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 500, to: 'carol' }]);
    expect(countCalls(counter, 'delete_repo')).toBe(0);
  });

  it('review without the elicitation capability (pause) is denied, not sent', async () => {
    const { client, counter } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'transfer']);
    const r = await client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'carol' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('needs a human review');
    expect(countCalls(counter)).toBe(0);
  });

  it('reviewer down: --fail-mode closed denies (counter 0), --fail-mode open forwards (counter 1)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const common = ['--reviewer-url', url, '--api-key', 'k', '--high-stakes', 'transfer', '--timeout-ms', '1500'];
    const closed = await spawnProxy([...common, '--fail-mode', 'closed']);
    const denied = await closed.client.callTool({ name: 'transfer', arguments: { amount: 5, to: 'a' } });
    expect(denied.isError).toBe(true);
    expect(denied._meta?.[DECISION_META_KEY]).toMatchObject({ source: 'fail_closed' });
    expect(countCalls(closed.counter)).toBe(0);
    const open = await spawnProxy([...common, '--fail-mode', 'open']);
    const allowed = await open.client.callTool({ name: 'transfer', arguments: { amount: 5, to: 'a' } });
    expect(allowed._meta?.[DECISION_META_KEY]).toMatchObject({ source: 'fail_open' });
    expect(countCalls(open.counter)).toBe(1);
  });

  it('an upstream that crashes mid-call: the client gets an MCP error, the proxy lives on, restarts it, and still gates', async () => {
    const { client, counter, stderr } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*']);
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/Connection closed|upstream/i);
    await expect.poll(() => stderr()).toContain('the upstream MCP server exited');
    const denied = await client.callTool({ name: 'delete_repo', arguments: { name: 'x' } });
    expect(denied.isError).toBe(true);
    expect(text(await client.callTool({ name: 'lookup', arguments: { id: '1' } }))).toBe('record 1');
    expect(countCalls(counter, 'crash')).toBe(1);
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(countCalls(counter, 'lookup')).toBe(1);
  });

  it('progress reaches the client and a cancellation reaches the upstream', async () => {
    const { client, counter } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'transfer']);
    const controller = new AbortController();
    const progress: unknown[] = [];
    const call = client.callTool({ name: 'slow', arguments: {} }, undefined, {
      signal: controller.signal,
      onprogress: (p) => {
        progress.push(p);
        controller.abort(new Error('stop'));
      },
    });
    await expect(call).rejects.toThrow();
    expect(progress).toEqual([{ progress: 1, total: 2, message: 'halfway' }]);
    await expect.poll(() => countCalls(counter, 'slow_cancelled')).toBe(1);
  });

  it('malformed upstream messages: the proxy reports them on stderr and keeps serving and gating', async () => {
    const { client, counter, stderr } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*']);
    expect(text(await client.callTool({ name: 'garble', arguments: {} }))).toBe('garbled');
    await expect.poll(() => stderr()).toContain('upstream error');
    expect((await client.callTool({ name: 'delete_repo', arguments: { name: 'x' } })).isError).toBe(true);
    expect(text(await client.callTool({ name: 'lookup', arguments: { id: '2' } }))).toBe('record 2');
    expect(countCalls(counter, 'delete_repo')).toBe(0);
  });

  it('a client that disconnects while the human is being asked: the call is never forwarded', async () => {
    let spawned: Spawned | undefined;
    let closed: Promise<void> | undefined;
    spawned = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'transfer'], () => {
      // Gone before answering: stdin is closed at once, so this accept never reaches the proxy.
      closed = spawned!.client.close();
      return { action: 'accept', content: { approve: true } };
    });
    await expect(spawned.client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'x' } })).rejects.toThrow();
    // Resolves once the proxy process has ended: nothing can be forwarded after this.
    await closed;
    expect(countCalls(spawned.counter)).toBe(0);
  });

  it('--high-stakes-annotations destructive adds annotated tools, never removes listed ones', async () => {
    const { client, counter } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'lookup', '--high-stakes-annotations', 'destructive', '--on-review', 'deny']);
    const wiped = await client.callTool({ name: 'wipe_disk', arguments: { disk: 'sda' } });
    expect(wiped.isError).toBe(true);
    // lookup says readOnlyHint: true, but --high-stakes names it: still reviewed (policy default review → deny).
    const looked = await client.callTool({ name: 'lookup', arguments: { id: '1' } });
    expect(looked.isError).toBe(true);
    expect(countCalls(counter)).toBe(0);
  });

  it('200 concurrent calls through one proxy: each decided right, a complete verified audit', async () => {
    const { client, counter, dir } = await spawnProxy(['--policy', '$POLICY', '--high-stakes', 'delete_*,transfer', '--audit', '$DIR/audit.jsonl']);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? client.callTool({ name: 'transfer', arguments: { amount: i % 100, to: `p${i}` } }) : client.callTool({ name: 'delete_repo', arguments: { name: `r${i}` } }),
      ),
    );
    expect(results.filter((r) => r.isError)).toHaveLength(100);
    expect(countCalls(counter, 'transfer')).toBe(100);
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    await client.close();
    const audit = join(dir, 'audit.jsonl');
    await expect.poll(() => readFileSync(audit, 'utf8').trim().split('\n').length).toBe(300); // 200 reviews + 100 outcomes
    const verified = await verifyAuditLog(audit);
    expect(verified).toMatchObject({ ok: true, records: 300 });
  });
});

describe('toolgate-mcp --config fronting several servers', () => {
  it('lists tools and prompts with each server prefix, routes by it, and gates by the prefixed name', async () => {
    const dir = tempDir();
    const [counterA, counterB] = [join(dir, 'a.log'), join(dir, 'b.log')];
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ version: 1, default: 'deny', rules: [{ id: 'b-transfers', tools: ['b_transfer'], verdict: 'allow' }] }));
    const server = (prefix: string, counter: string) => ({ prefix, command: process.execPath, args: [...TS_FLAGS, UPSTREAM_SERVER], env: { COUNTER_FILE: counter } });
    writeFileSync(join(dir, 'toolgate.mcp.yaml'), JSON.stringify({ policy: 'policy.json', highStakes: ['*_transfer', '*_delete_repo'], servers: [server('a_', counterA), server('b_', counterB)] }));
    const client = new Client({ name: 'desktop-assistant', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: proxyCliArgs(['--config', join(dir, 'toolgate.mcp.yaml')]), stderr: 'pipe' }));
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.sort()).toEqual(['a_crash', 'a_delete_repo', 'a_garble', 'a_lookup', 'a_slow', 'a_transfer', 'a_wipe_disk', 'b_crash', 'b_delete_repo', 'b_garble', 'b_lookup', 'b_slow', 'b_transfer', 'b_wipe_disk']);
    expect((await client.callTool({ name: 'a_transfer', arguments: { amount: 1, to: 'x' } })).isError).toBe(true);
    expect(text(await client.callTool({ name: 'b_transfer', arguments: { amount: 1, to: 'x' } }))).toBe('sent 1 to x');
    expect(text(await client.callTool({ name: 'a_lookup', arguments: { id: '3' } }))).toBe('record 3');
    expect((await client.callTool({ name: 'b_delete_repo', arguments: { name: 'x' } })).isError).toBe(true);
    await expect(client.callTool({ name: 'c_lookup', arguments: { id: '1' } })).rejects.toThrow(/no upstream server has the prefix/);
    expect((await client.getPrompt({ name: 'b_greet', arguments: { who: 'Ada' } })).messages[0]?.content).toMatchObject({ text: 'Say hello to Ada' });
    expect((await client.readResource({ uri: 'memo://greeting' })).contents[0]).toMatchObject({ text: 'hello from upstream' });
    expect([countCalls(counterA), countCalls(counterB)]).toEqual([1, 1]);
    expect(upstreamCalls(counterA, 'lookup')).toEqual([{ id: '3' }]);
    expect(upstreamCalls(counterB, 'transfer')).toEqual([{ amount: 1, to: 'x' }]);
  });
});
