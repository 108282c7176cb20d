package webhook_test

import (
	"fmt"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

func ExampleParse() {
	body := []byte(`{"value":[{"subscriptionId":"sub-1","clientState":"s3cret","changeType":"updated",
		"resource":"Users/u1","resourceData":{"@odata.type":"#Microsoft.Graph.User","id":"u1"}}]}`)
	ns, err := webhook.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range ns {
		fmt.Println(n.SubscriptionID, n.ChangeType, n.ResourceType, n.ResourceID, webhook.ClientStateEqual(n.ClientState, "s3cret"))
	}
	// Output: sub-1 updated #Microsoft.Graph.User u1 true
}

func ExampleValidationToken() {
	tok, ok := webhook.ValidationToken("code=key&validationToken=Validation%3A+Testing+client")
	fmt.Printf("%q %v\n", tok, ok)
	// Output: "Validation: Testing client" true
}
