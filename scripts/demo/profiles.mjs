/**
 * The demo's two profiles, written as AnyConnect XML the way an administrator would ship them:
 * a user-tunnel profile with Multiple Certificate Authentication (CertificateStoreOverride so
 * the machine certificate comes from the machine store, CertificateMatch on the demo issuing
 * CA) and a management-tunnel profile whose Trusted Network Detection names a domain the demo
 * network does not use, so the laptop counts as "off the corporate network".
 */
import { writeFileSync } from 'node:fs';
import { ISSUING_CA_CN, MGMT_NAME, SERVER_NAME } from './pki.mjs';

/** The HostName users type: `tandem connect "Demo VPN"`. */
export const USER_HOST = 'Demo VPN';
/** Trusted DNS domain of the machine-tunnel profile; the demo namespace's resolv.conf says `demo.test`. */
export const TRUSTED_DOMAIN = 'corp.tandem.invalid';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">\n';

const MATCH = `		<CertificateMatch>
			<MatchOnlyCertsWithKU>true</MatchOnlyCertsWithKU>
			<KeyUsage><MatchKey>Digital_Signature</MatchKey></KeyUsage>
			<ExtendedKeyUsage><ExtendedMatchKey>ClientAuth</ExtendedMatchKey></ExtendedKeyUsage>
			<DistinguishedName>
				<DistinguishedNameDefinition Operator="Equal" Wildcard="Disabled" MatchCase="Enabled">
					<Name>ISSUER-CN</Name>
					<Pattern>${ISSUING_CA_CN}</Pattern>
				</DistinguishedNameDefinition>
			</DistinguishedName>
		</CertificateMatch>
`;

/**
 * Writes the user-tunnel (MCA) profile.
 * @param {string} file
 * @param {string} hostAddress `vpn.demo.test` or `vpn.demo.test:PORT`
 */
export function writeUserProfile(file, hostAddress = SERVER_NAME) {
  writeFileSync(
    file,
    `${HEADER}	<ClientInitialization>
		<CertificateStoreLinux>All</CertificateStoreLinux>
		<CertificateStoreOverride>true</CertificateStoreOverride>
		<AutomaticCertSelection UserControllable="false">true</AutomaticCertSelection>
${MATCH}		<AutomaticVPNPolicy>false</AutomaticVPNPolicy>
	</ClientInitialization>
	<ServerList>
		<HostEntry>
			<HostName>${USER_HOST}</HostName>
			<HostAddress>${hostAddress}</HostAddress>
		</HostEntry>
	</ServerList>
</AnyConnectProfile>
`,
    { mode: 0o644 },
  );
}

/**
 * Writes the management (machine) tunnel profile; its file name must be
 * `mgmttun/VpnMgmtTunProfile.xml` under the agent's profile directory.
 * @param {string} file
 */
export function writeMachineProfile(file) {
  writeFileSync(
    file,
    `${HEADER}	<ClientInitialization>
		<CertificateStoreLinux>Machine</CertificateStoreLinux>
${MATCH}		<AutomaticVPNPolicy>true
			<TrustedDNSDomains>${TRUSTED_DOMAIN}</TrustedDNSDomains>
			<TrustedNetworkPolicy>Disconnect</TrustedNetworkPolicy>
			<UntrustedNetworkPolicy>Connect</UntrustedNetworkPolicy>
		</AutomaticVPNPolicy>
	</ClientInitialization>
	<ServerList>
		<HostEntry>
			<HostName>Demo management tunnel</HostName>
			<HostAddress>${MGMT_NAME}</HostAddress>
		</HostEntry>
	</ServerList>
</AnyConnectProfile>
`,
    { mode: 0o644 },
  );
}
