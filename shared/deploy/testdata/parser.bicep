// A fixture for TestParser: the parts of Bicep the reader must get right.
/* a block comment
   with a } brace */

@description('the // is not a comment; the } is not a brace')
param prefix string = 'tw'

param unused string = 'never read'

@allowed([
  'a'
  'b'
])
param mode string = 'a'

var url = 'https://example.org/a//b' // a comment after a URL
var greeting = 'it\'s ${prefix}-${'x'}'
var computed = toLower(prefix)
var names = [
  '${prefix}a'
  '${prefix}b' /* inline */
  'c'
]

var settings = {
  A: '1'
  B_C: mode
  nested: {
    inner: '${prefix}/x'
  }
  'quoted-key': true
  multi: union(names, {
    k: 'v'
  })
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = if (!empty(prefix)) {
  name: '${prefix}st'
  properties: {
    allowSharedKeyAccess: false
  }
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in names: {
  name: q
}]

output settingsOut object = settings
output greetingOut string = '${greeting}${url}${computed}${account.name}${queues[0].name}${mode}'
