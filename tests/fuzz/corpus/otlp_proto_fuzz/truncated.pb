
¸
|

service.name

checkout

ser