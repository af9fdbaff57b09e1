from nio import AsyncClient, AsyncClientConfig
async def test_smoke(synapse):
    u = await synapse.register("smoke")
    c = AsyncClient(synapse.url, u.user_id, config=AsyncClientConfig(encryption_enabled=False))
    r = await c.login(u.password)
    print(r)
    r = await c.room_create(name="x")
    print(r)
    await c.close()
