/**
 * Public entry points of the `neutron-policy` language: reading a policy file into the model of
 * Neutron objects with its diagnostics. Pure logic, shared by the CLI, the language server and
 * the tests.
 */
export { readPolicy, qrDevice, qgDevice, scopeMarks, PORT_PROTOCOLS } from './model.ts';
export type { Policy, PolicyResult, PolicyDefaults, Network, SecurityGroup, SgRule, Port, Router, RouterPort, FloatingIp, FirewallGroup, FirewallRule, Steering, PortRange, SgDriver, AllowedAddress } from './model.ts';
export { POLICY_DIAGNOSTIC_CODES } from './codes.ts';
export { parsePolicySyntax } from './syntax.ts';
export type { PolicySyntax, BlockNode, StatementNode, WordNode } from './syntax.ts';
export * from './addresses.ts';
