package packet

// Advertise is broadcast periodically by a gateway (§5.4.1).
type Advertise struct {
	GatewayID uint8
	Duration  uint16 // seconds until the next ADVERTISE (T_ADV)
}

// SearchGW is broadcast by a client looking for a gateway (§5.4.2).
type SearchGW struct {
	Radius uint8 // broadcast radius in hops; 0 = all nodes
}

// GWInfo answers SEARCHGW (§5.4.3). GatewayAddr is empty when a gateway sends it and holds the
// gateway's network address (raw octets, erratum E3) when a client answers on its behalf.
type GWInfo struct {
	GatewayID   uint8
	GatewayAddr []byte
}
