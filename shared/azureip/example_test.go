package azureip_test

import (
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
)

func Example() {
	// A Service Tags file, cut down. Only AzureCloud and AzureCloud.<region>
	// entries are used; the global tag repeats the regional prefixes.
	const file = `{
	  "changeNumber": 370,
	  "cloud": "Public",
	  "values": [
	    {"name": "AzureCloud.eastus", "properties": {"addressPrefixes": ["4.156.0.0/15", "2603:1030:210::/47"]}},
	    {"name": "AzureCloud", "properties": {"addressPrefixes": ["4.152.0.0/15", "4.156.0.0/15"]}},
	    {"name": "AzureActiveDirectory", "properties": {"addressPrefixes": ["20.190.128.0/18"]}}
	  ]
	}`
	set, err := azureip.Parse(strings.NewReader(file))
	if err != nil {
		log.Fatal(err)
	}
	for _, ip := range []string{"4.156.7.8", "4.152.0.1", "::ffff:4.157.0.1", "2603:1030:211::5", "20.190.128.1", "not an address"} {
		if tag, ok := set.ContainsString(ip); ok { // as Graph reports sign-in addresses
			fmt.Printf("%-18s %s\n", ip, tag)
		} else {
			fmt.Printf("%-18s not Azure\n", ip)
		}
	}
	fmt.Println(set.Contains(netip.MustParseAddr("4.158.0.0")))
	tags, prefixes, change := set.Stats()
	fmt.Println(tags, prefixes, change)
	// Output:
	// 4.156.7.8          AzureCloud.eastus
	// 4.152.0.1          AzureCloud
	// ::ffff:4.157.0.1   AzureCloud.eastus
	// 2603:1030:211::5   AzureCloud.eastus
	// 20.190.128.1       not Azure
	// not an address     not Azure
	// false
	// 2 4 370
}
