/**
 * The policy `toolgate init` writes (format: @toolgate/core docs/policy.md). The test loads it with
 * core's `loadPolicy` and checks what it decides, so it stays valid.
 */
export const STARTER_POLICY = `# toolgate policy, written by \`toolgate init\`. Edit it for your tools; check it with
#   toolgate policy check policy.yaml --call '{"tool":"transfer","args":{"amount":5000}}'
# Every matching rule is evaluated and the most restrictive verdict wins:
#   deny > review > allow_with_conditions > allow
# A call no rule matches gets \`default\`: here a human looks at it (review).
version: 1
name: starter
default: review

rules:
  # --- money: small amounts go through, larger ones wait for a human, huge ones never run ------
  - id: transfer-small
    tools: [transfer, payment, "*_transfer"]
    when:
      - { field: args.amount, op: lte, value: 100 }
    verdict: allow
    reason: transfers up to 100 go through on their own

  - id: transfer-review
    tools: [transfer, payment, "*_transfer"]
    when:
      - { field: args.amount, op: gt, value: 100 }
    verdict: review
    reason: transfers over 100 need a human review

  - id: transfer-limit
    tools: [transfer, payment, "*_transfer"]
    when:
      - { field: args.amount, op: gt, value: 10000 }
    verdict: deny
    reason: transfers over 10000 are never made by an agent

  - id: transfer-no-amount
    tools: [transfer, payment, "*_transfer"]
    when:
      - { field: args.amount, op: exists, value: false }
    verdict: deny
    reason: a transfer needs a numeric amount

  # --- shell: rm -rf never runs; every other command waits for a human ------------------------
  - id: shell-rm-rf
    tools: [shell, bash, "*_exec"]
    when:
      - field: args.command
        op: matches
        # rm with both -r and -f, in any order or spelling (-rf, -fr, -Rvf, -r -f, --recursive --force).
        value: '\\brm\\s+(-[a-eg-qs-z]*(r[a-eg-z]*f|f[a-qs-z]*r)|-r\\s+-f|-f\\s+-r|--recursive\\s+--force|--force\\s+--recursive)'
        flags: i
    verdict: deny
    reason: recursive forced delete (rm -rf) is not allowed

  # --- databases -------------------------------------------------------------------------------
  - id: db-drop
    tools: ["db.drop*", "*_drop_table"]
    verdict: deny
    reason: dropping databases or tables is never done by an agent

  # --- every high-stakes tool: stop runaway agents --------------------------------------------
  - id: rate-limit
    limit: { max: 30, windowMs: 60000, per: agent }
    verdict: deny
    reason: more than 30 high-stakes calls a minute from this agent

  - id: loop-detection
    repeat: { max: 3, windowMs: 60000, per: agent }
    verdict: deny
    reason: the same call more than 3 times a minute looks like a loop; change approach
`;
