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

// Type returns TypeAdvertise.
func (*Advertise) Type() MsgType { return TypeAdvertise }

// Append implements Message: `05 00 GwId Duration(2)`.
func (m *Advertise) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeAdvertise, 3)
	return appendU16(append(dst, m.GatewayID), m.Duration), nil
}

// Unmarshal implements Message.
func (m *Advertise) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypeAdvertise, 3)
	if err != nil {
		return err
	}
	*m = Advertise{GatewayID: b[0], Duration: u16(b[1:])}
	return nil
}

// Type returns TypeSearchGW.
func (*SearchGW) Type() MsgType { return TypeSearchGW }

// Append implements Message: `03 01 Radius`.
func (m *SearchGW) Append(dst []byte) ([]byte, error) {
	dst, _ = appendHeader(dst, TypeSearchGW, 1)
	return append(dst, m.Radius), nil
}

// Unmarshal implements Message.
func (m *SearchGW) Unmarshal(datagram []byte) error {
	b, err := exactBody(datagram, TypeSearchGW, 1)
	if err != nil {
		return err
	}
	*m = SearchGW{Radius: b[0]}
	return nil
}

// Type returns TypeGWInfo.
func (*GWInfo) Type() MsgType { return TypeGWInfo }

// Append implements Message: `Len 02 GwId GwAdd..`.
func (m *GWInfo) Append(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, TypeGWInfo, 1+len(m.GatewayAddr))
	if err != nil {
		return dst, err
	}
	return append(append(dst, m.GatewayID), m.GatewayAddr...), nil
}

// Unmarshal implements Message.
func (m *GWInfo) Unmarshal(datagram []byte) error {
	b, off, err := body(datagram, TypeGWInfo)
	if err != nil {
		return err
	}
	if err := checkSize(TypeGWInfo, b, off, 1, -1); err != nil {
		return err
	}
	*m = GWInfo{GatewayID: b[0], GatewayAddr: bytesOrNil(b[1:])}
	return nil
}
